// One peer: its profile (GET /profile/list?node=) and its shared files (GET /blockchain/view?node=).

import { get } from "./api.js";
import { byId, h, say } from "./dom.js";
import { formatDate, formatSize, kind, shortId } from "./formats.js";
import { startDownload } from "./downloads.js";
import { showPicture } from "./profile.js";

const PROFILE_NAMES = ["Name", "Email", "Website", "Twitter", "YouTube", "Address"];

let shown = "";

function fileRow(file) {
  const download = h("button", {
    type: "button",
    "aria-label": `Download ${file.name}`,
    onclick: async () => {
      download.disabled = true;
      try {
        say("peer-files-state", await startDownload(file));
      } catch (error) {
        say("peer-files-state", error.message, "error");
      }
      download.disabled = false;
    },
  }, "Download");
  return h("tr", {},
    h("td", { class: "name" }, file.folder ? h("span", { class: "muted" }, `${file.folder}/`) : null, file.name || "(no name)",
      file.description ? h("div", { class: "muted" }, file.description) : null),
    h("td", {}, kind(file)),
    h("td", { class: "num" }, formatSize(file.size)),
    h("td", {}, formatDate(file.date)),
    h("td", {}, download));
}

function profileCard(node, fields) {
  const first = new Map();
  for (const field of fields) if (!first.has(field.type)) first.set(field.type, field);
  const name = first.get(0)?.text || shortId(node);
  byId("peer-title").textContent = name;
  const img = h("img", { alt: `Picture of ${name}`, hidden: true });
  if (first.has(6)) showPicture(img, first.get(6).blob);
  const facts = h("dl", { class: "facts" }, h("dt", {}, "Node ID"), h("dd", { class: "mono" }, node));
  for (const [type, label] of PROFILE_NAMES.entries()) {
    if (type > 0 && first.get(type)?.text) facts.append(h("dt", {}, label), h("dd", {}, first.get(type).text));
  }
  byId("peer-profile").replaceChildren(img, facts);
}

export async function show(node) {
  if (!/^[0-9a-f]{64}$/i.test(node ?? "")) {
    byId("peer-title").textContent = "Unknown peer";
    return;
  }
  shown = node;
  byId("peer-title").textContent = shortId(node);
  byId("peer-profile").replaceChildren();
  byId("peer-files-body").replaceChildren();
  say("peer-files-state", "Loading…");
  const [profile, view] = await Promise.all([
    get("/profile/list", { node }).catch(() => null),
    get("/blockchain/view", { node, limit: 500, type: -1 }).catch((error) => error),
  ]);
  if (shown !== node) return;
  profileCard(node, profile?.fields ?? []);
  if (view instanceof Error) {
    say("peer-files-state", view.message, "error");
    return;
  }
  const files = view?.files ?? [];
  byId("peer-files-body").replaceChildren(...files.map(fileRow));
  say("peer-files-state", files.length ? `${files.length} shared files.` : "This peer shares no files that your node knows of.");
}

export function hide() {
  shown = "";
}
