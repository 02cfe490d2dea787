// Value formats of the local API (as the Go reference writes them) and how the page shows them.

export const FILE_TYPES = ["Binary", "Text", "Picture", "Video", "Audio", "Document", "Executable",
  "Container", "Compressed", "Folder", "Ebook"];

export const FILE_FORMATS = ["Binary", "PDF", "Word", "Excel", "PowerPoint", "Picture", "Audio", "Video",
  "Container", "HTML", "Text", "Ebook", "Compressed", "Database", "Email", "CSV", "Folder", "Executable",
  "Installer", "APK", "ISO", "Peernet search"];

export const SORTS = ["Arrival", "Relevance, low first", "Relevance, high first", "Oldest first", "Newest first",
  "Name A–Z", "Name Z–A", "Smallest first", "Largest first", "Fewest sharers first", "Most sharers first"];

export const DOWNLOAD_STATES = ["Waiting for file details", "Looking for peers", "Downloading", "Paused",
  "Canceled or failed", "Finished"];

const EXTENSIONS = {};
for (const [type, format, names] of [
  [1, 10, "txt log ini json md"], [1, 15, "csv tsv"], [1, 9, "html htm"], [1, 13, "sql"], [1, 14, "eml mbox"],
  [1, 21, "pnsearch"], [5, 2, "doc docx rtf odt"], [5, 1, "pdf"], [5, 3, "xls xlsx ods"], [5, 4, "ppt pptx odp"],
  [2, 5, "gif jpg jpeg png svg bmp tif tiff jfif webp"],
  [3, 7, "mp4 flv avi mov mpg mpeg h264 3g2 3gp mkv wmv webm ts"], [4, 6, "mp3 ogg flac"], [7, 8, "zip rar 7z tar"],
  [7, 20, "iso"], [10, 11, "epub mobi prc"], [8, 12, "gz bz bz2 xz"], [6, 17, "exe sys dll cmd bat"],
  [6, 18, "msi"], [6, 19, "apk"],
]) for (const ext of names.split(" ")) EXTENSIONS[ext] = [type, format];

/** [type, format] of a file name by its extension, by the same extension table as the node's /file/format. */
export function detectFormat(name) {
  const dot = name.lastIndexOf(".");
  if (dot < 0) return [0, 0];
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? [0, 0];
}

/** "Text · CSV" */
export function kind(file) {
  const type = FILE_TYPES[file.type] ?? `Type ${file.type}`;
  const format = FILE_FORMATS[file.format] ?? `Format ${file.format}`;
  return type === format ? type : `${type} · ${format}`;
}

/** 1536 -> "1.5 KiB" */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** RFC 3339 date -> local date and time, "" for the zero time. */
export function formatDate(text) {
  if (!text || text.startsWith("0001-01-01")) return "";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** base64 (as the API writes hashes and node IDs in JSON) -> lowercase hex (as it reads them in queries). */
export function b64ToHex(text) {
  if (!text) return "";
  try {
    return Array.from(atob(text), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return "";
  }
}

/** Bytes (ArrayBuffer or Uint8Array) -> standard padded base64. */
export function bytesToB64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(text);
}

/** base64 -> Uint8Array (empty on bad input). */
export function b64ToBytes(text) {
  try {
    return Uint8Array.from(atob(text || ""), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}

/** "abcd…wxyz" for long IDs. */
export function shortId(hex) {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}

/** A file name from the network made safe as the last part of a local path. */
export function safeFileName(name, fallback) {
  const cleaned = String(name ?? "").replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, "_").replace(/^[.\s]+/, "").trim();
  return (cleaned || fallback).slice(0, 200);
}

/** Join a folder typed by the user and a file name with the folder's own separator. */
export function joinPath(folder, name) {
  const sep = folder.includes("\\") && !folder.includes("/") ? "\\" : "/";
  return folder.endsWith(sep) ? folder + name : folder + sep + name;
}

/** A date input's value (YYYY-MM-DD) as the search API's "YYYY-MM-DD hh:mm:ss" (UTC), or "". */
export function searchDate(value, endOfDay) {
  return value ? `${value} ${endOfDay ? "23:59:59" : "00:00:00"}` : "";
}
