// My files: upload with POST /warehouse/create (multipart part "File"), publish with POST /blockchain/file/add,
// list with GET /blockchain/file/list, unpublish with POST /blockchain/file/delete.

import { get, post, uploadToWarehouse } from "./api.js";
import { byId, h, say, syncRows } from "./dom.js";
import { detectFormat, formatDate, formatSize, kind } from "./formats.js";

const CHAIN_STATUS = ["OK", "block not found", "corrupt block", "corrupt record", "data not found",
  "not in the warehouse"];

function uploadCard(file) {
  const id = `up-${Math.random().toString(36).slice(2)}`;
  const progress = h("progress", { id, max: 100, value: 0 }, "0%");
  const text = h("p", { class: "muted" }, "Uploading…");
  const el = h("li", { class: "card", "aria-label": file.name },
    h("div", { class: "card-title" }, h("strong", {}, file.name), " ", h("span", { class: "muted" }, formatSize(file.size))),
    h("label", { for: id, class: "sr" }, `Upload of ${file.name}`), progress, text);
  byId("uploads-list").prepend(el);
  return {
    progress(sent, total) {
      const pct = total ? Math.round((100 * sent) / total) : 0;
      progress.value = pct;
      progress.textContent = `${pct}%`;
    },
    done(message, tone) {
      text.textContent = message;
      el.dataset.tone = tone;
    },
  };
}

/** Upload one browser File and publish it; returns true when it was shared. */
async function shareOne(file) {
  const card = uploadCard(file);
  try {
    const stored = await uploadToWarehouse(file, (sent, total) => card.progress(sent, total));
    if (stored.status !== 0 || !stored.hash) {
      card.done(`The node could not store the file (warehouse code ${stored.status}).`, "error");
      return false;
    }
    card.progress(1, 1);
    const [type, format] = detectFormat(file.name);
    const answer = await post("/blockchain/file/add", {
      files: [{
        hash: stored.hash, type, format, size: file.size, name: file.name,
        folder: byId("share-folder").value.trim(), description: byId("share-description").value.trim(),
        date: new Date().toISOString(), metadata: [],
      }],
    });
    if (answer.status !== 0) {
      card.done(`Stored, but not published: ${CHAIN_STATUS[answer.status] ?? `status ${answer.status}`}.`, "error");
      return false;
    }
    card.done("Shared.", "ok");
    return true;
  } catch (error) {
    card.done(error.message, "error");
    return false;
  }
}

async function shareFiles(list) {
  const files = [...list];
  if (!files.length) return;
  say("own-files-state", `Sharing ${files.length === 1 ? files[0].name : `${files.length} files`}…`);
  let shared = 0;
  for (const file of files) shared += (await shareOne(file)) ? 1 : 0;
  say("own-files-state", `${shared} of ${files.length} shared.`, shared === files.length ? "ok" : "error");
  await refresh();
}

async function remove(file) {
  if (!confirm(`Stop sharing ${file.name}? Peers will no longer find it.`)) return;
  try {
    const answer = await post("/blockchain/file/delete", { files: [file] });
    say("own-files-state", answer.status === 0 ? `${file.name} is no longer shared.` : `Not removed (status ${answer.status}).`,
      answer.status === 0 ? "ok" : "error");
  } catch (error) {
    say("own-files-state", error.message, "error");
  }
  await refresh();
  byId("own-files-title").focus();
}

function ownRow(file) {
  return h("tr", {},
    h("td", { class: "name" }, file.name || "(no name)", file.description ? h("div", { class: "muted" }, file.description) : null),
    h("td", {}, kind(file)),
    h("td", { class: "num" }, formatSize(file.size)),
    h("td", {}, file.folder),
    h("td", {}, formatDate(file.date)),
    h("td", {}, h("button", { type: "button", "aria-label": `Stop sharing ${file.name}`, onclick: () => remove(file) },
      "Stop sharing")));
}

async function refresh() {
  try {
    const answer = await get("/blockchain/file/list");
    const files = answer.files ?? [];
    syncRows(byId("own-files-body"), files, (file) => file.id, ownRow);
    if (!files.length) say("own-files-state", "You share no files yet.");
  } catch (error) {
    say("own-files-state", error.message, "error");
  }
}

export function init() {
  const input = byId("share-input");
  input.addEventListener("change", async () => {
    await shareFiles(input.files);
    input.value = "";
  });
  const zone = byId("drop-zone");
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) zone.addEventListener(name, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    shareFiles(event.dataTransfer?.files ?? []);
  });
}

export function show() {
  refresh();
}

export function hide() {}
