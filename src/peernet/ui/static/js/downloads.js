// Downloads: GET /download/start, /download/status (every second while any is running), /download/action.
// The API has no route that lists downloads, so this tab remembers the IDs it started (sessionStorage).

import { get } from "./api.js";
import { byId, h, say } from "./dom.js";
import { DOWNLOAD_STATES, b64ToHex, formatSize, joinPath, safeFileName } from "./formats.js";

const LIST_ITEM = "peernet.downloads";
const FOLDER_ITEM = "peernet.downloadFolder";
const ACTIONS = { pause: 0, resume: 1, cancel: 2 };
const FINISHED = 5;
const ENDED = 4;

let downloads = JSON.parse(sessionStorage.getItem(LIST_ITEM) ?? "[]");
let timer = 0;

function save() {
  sessionStorage.setItem(LIST_ITEM, JSON.stringify(downloads));
}

export function downloadFolder() {
  return localStorage.getItem(FOLDER_ITEM) ?? "";
}

/** Start downloading an apiFile (from search, a peer's files); returns a sentence for the caller's status line. */
export async function startDownload(file) {
  const folder = downloadFolder();
  if (!folder) {
    const focusFolder = () => byId("download-folder").focus();
    if (location.hash === "#downloads") focusFolder();
    else {
      window.addEventListener("hashchange", focusFolder, { once: true }); // after the view has switched
      location.hash = "#downloads";
    }
    say("downloads-state", "Choose the folder for downloads first, then start the download again.", "error");
    return "Choose a download folder first.";
  }
  const hash = b64ToHex(file.hash);
  const name = safeFileName(file.name, hash);
  const path = joinPath(folder, name);
  const answer = await get("/download/start", { path, hash, node: b64ToHex(file.nodeid) });
  if (answer.apistatus !== 0) {
    return answer.apistatus === 2 ? `Cannot write ${path} (it may exist already).` : `The download did not start (code ${answer.apistatus}).`;
  }
  downloads.unshift({ id: answer.id, name, path, status: answer.downloadstatus, percentage: 0, size: 0, done: 0 });
  save();
  render();
  poll();
  return `Downloading ${name} to ${path}.`;
}

async function act(entry, action) {
  try {
    const answer = await get("/download/action", { id: entry.id, action: ACTIONS[action] });
    if (answer.apistatus === 1) say("downloads-state", `The node no longer knows the download of ${entry.name}.`, "error");
    else if (answer.apistatus !== 0) say("downloads-state", `Cannot ${action} ${entry.name} now.`, "error");
    else say("downloads-state", `${entry.name}: ${action} requested.`);
  } catch (error) {
    say("downloads-state", error.message, "error");
  }
  await refresh();
  const parts = rows.get(entry.id);
  if (parts && !parts.el.contains(document.activeElement)) {
    [parts.pause, parts.resume, parts.cancel, parts.remove].find((button) => !button.hidden)?.focus();
  }
}

const rows = new Map(); // download ID -> the parts of its card that change

function card(entry) {
  const progressId = `dl-${entry.id}`;
  const button = (text, onclick) => h("button", { type: "button", onclick }, text);
  const parts = {
    progress: h("progress", { id: progressId, max: 100, value: 0 }),
    text: h("p", { class: "muted" }),
    pause: button("Pause", () => act(entry, "pause")),
    resume: button("Resume", () => act(entry, "resume")),
    cancel: button("Cancel", () => act(entry, "cancel")),
    remove: button("Remove from list", () => forget(entry.id)),
  };
  parts.el = h("li", { class: "card", "aria-label": entry.name },
    h("div", { class: "card-title" }, h("strong", {}, entry.name), " ", h("span", { class: "muted" }, entry.path)),
    h("label", { for: progressId, class: "sr" }, `Progress of ${entry.name}`),
    parts.progress, parts.text,
    h("div", { class: "row" }, parts.pause, parts.resume, parts.cancel, parts.remove));
  return parts;
}

function update(parts, entry) {
  const state = entry.gone ? "No longer known to the node" : DOWNLOAD_STATES[entry.status] ?? `State ${entry.status}`;
  parts.el.dataset.status = entry.status;
  parts.progress.value = entry.percentage;
  parts.progress.textContent = `${entry.percentage}%`;
  parts.text.textContent = entry.size ? `${state} · ${formatSize(entry.done)} of ${formatSize(entry.size)} ` +
    `(${entry.percentage}%)` : state;
  parts.pause.hidden = entry.gone || entry.status !== 2;
  parts.resume.hidden = entry.gone || entry.status !== 3;
  parts.cancel.hidden = entry.gone || entry.status >= ENDED;
  parts.remove.hidden = !(entry.gone || entry.status >= ENDED);
}

function forget(id) {
  downloads = downloads.filter((entry) => entry.id !== id);
  save();
  render();
  say("downloads-state", "Removed from the list.");
  byId("downloads-title").focus();
}

function render() {
  const list = byId("downloads-list");
  for (const [id, parts] of rows) {
    if (!downloads.some((entry) => entry.id === id)) {
      parts.el.remove();
      rows.delete(id);
    }
  }
  downloads.forEach((entry, i) => {
    if (!rows.has(entry.id)) rows.set(entry.id, card(entry));
    const parts = rows.get(entry.id);
    update(parts, entry);
    if (list.children[i] !== parts.el) list.insertBefore(parts.el, list.children[i] ?? null);
  });
  const empty = "No downloads in this window yet.";
  if (!downloads.length) say("downloads-state", empty);
  else if (byId("downloads-state").textContent === empty) say("downloads-state", "");
}

async function refresh() {
  const running = downloads.filter((entry) => entry.status < ENDED && !entry.gone);
  await Promise.all(running.map(async (entry) => {
    try {
      const answer = await get("/download/status", { id: entry.id });
      if (answer.apistatus === 1) {
        entry.gone = true;
        return;
      }
      entry.status = answer.downloadstatus;
      entry.percentage = entry.status === FINISHED ? 100 : Number(answer.progress?.percentage ?? 0);
      entry.size = Number(answer.progress?.totalsize ?? 0);
      entry.done = Number(answer.progress?.downloadedsize ?? 0);
    } catch {
      // unreachable node: keep the last known state, the connection line says why
    }
  }));
  save();
  render();
  return running.length > 0;
}

function poll() {
  if (timer) return;
  timer = setInterval(async () => {
    if (!(await refresh())) {
      clearInterval(timer);
      timer = 0;
    }
  }, 1000);
}

export function init() {
  byId("download-folder").value = downloadFolder();
  byId("folder-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const folder = byId("download-folder").value.trim();
    localStorage.setItem(FOLDER_ITEM, folder);
    say("downloads-state", folder ? `Downloads go to ${folder}.` : "", "ok");
  });
}

export function show() {
  render();
  refresh();
  poll();
}

export function hide() {}
