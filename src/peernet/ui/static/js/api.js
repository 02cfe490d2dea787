// The node's local API (the routes of the Go reference's webapi), called with the API key in the x-api-key header.
// The key lives in sessionStorage of this tab only; the page that the node serves holds no secret.

const KEY_ITEM = "peernet.apiKey";

/** Move a key from the URL fragment (#key=...) into sessionStorage and remove it from the address bar. */
export function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([^&]*)/.exec(location.hash);
  if (!match) return;
  const key = decodeURIComponent(match[1]).trim();
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  history.replaceState(null, "", location.pathname + location.search);
}

export function hasKey() {
  return Boolean(sessionStorage.getItem(KEY_ITEM));
}

export function setKey(key) {
  sessionStorage.setItem(KEY_ITEM, key.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

/** Raised for any answer that is not 2xx; `status` is the HTTP code (0 when the node is unreachable). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra = {}) {
  return { "x-api-key": sessionStorage.getItem(KEY_ITEM) ?? "", ...extra };
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function call(method, path, { params, json } = {}) {
  let response;
  try {
    response = await fetch(url(path, params), {
      method,
      headers: headers(json === undefined ? {} : { "content-type": "application/json" }),
      body: json === undefined ? undefined : JSON.stringify(json),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, "The node does not answer.");
  }
  if (response.status === 401) {
    window.dispatchEvent(new Event("peernet:unauthorized"));
    throw new ApiError(401, "The API key was not accepted.");
  }
  if (!response.ok) throw new ApiError(response.status, `The node answered ${response.status} for ${path}.`);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** GET path?params -> JSON (null for an empty body). */
export const get = (path, params) => call("GET", path, { params });

/** POST a JSON body -> JSON. */
export const post = (path, json, params) => call("POST", path, { json, params });

/**
 * POST /warehouse/create with the file as the multipart part "File". XMLHttpRequest rather than fetch,
 * for upload progress: onProgress(sentBytes, totalBytes).
 */
export function uploadToWarehouse(file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/warehouse/create");
    request.setRequestHeader("x-api-key", sessionStorage.getItem(KEY_ITEM) ?? "");
    request.responseType = "text";
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.total || file.size));
    request.addEventListener("load", () => {
      if (request.status === 401) window.dispatchEvent(new Event("peernet:unauthorized"));
      if (request.status !== 200) {
        reject(new ApiError(request.status, `The node answered ${request.status} to the upload.`));
        return;
      }
      try {
        resolve(JSON.parse(request.responseText));
      } catch {
        reject(new ApiError(request.status, "The node's answer to the upload is not JSON."));
      }
    });
    request.addEventListener("error", () => reject(new ApiError(0, "The upload failed: the node does not answer.")));
    const form = new FormData();
    form.append("File", file, file.name);
    request.send(form);
  });
}
