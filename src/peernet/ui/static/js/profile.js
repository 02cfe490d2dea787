// My profile: GET /profile/list, POST /profile/write (changed fields), POST /profile/delete (cleared fields);
// GET /account/info for the identity.

import { get, post } from "./api.js";
import { byId, fillFacts, say } from "./dom.js";
import { b64ToBytes, bytesToB64 } from "./formats.js";

const TEXT_FIELDS = [0, 1, 2, 3, 4, 5];
const PICTURE = 6;
const MAX_PICTURE = 48 * 1024;

let saved = new Map(); // field type -> text as last read from the node
let loads = 0; // the latest load() wins: an older answer never fills or enables the form

/** Show picture bytes (base64) in an <img>; the bytes come from the network, so a blob: URL, never HTML. */
export function showPicture(img, blob) {
  const bytes = b64ToBytes(blob);
  if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
  img.hidden = bytes.length === 0;
  if (!bytes.length) return;
  img.dataset.url = URL.createObjectURL(new Blob([bytes]));
  img.src = img.dataset.url;
}

/** Read the profile; the fields stay disabled until then, so a late answer never overwrites typing. */
async function load() {
  const mine = ++loads;
  byId("profile-fields").disabled = true;
  try {
    const [profile, self] = await Promise.all([get("/profile/list"), get("/account/info")]);
    if (mine !== loads) return;
    saved = new Map();
    let picture = null;
    for (const field of profile.fields ?? []) {
      if (field.type === PICTURE) picture = field.blob;
      else if (!saved.has(field.type)) saved.set(field.type, field.text ?? "");
    }
    for (const type of TEXT_FIELDS) byId(`p-${type}`).value = saved.get(type) ?? "";
    showPicture(byId("profile-picture"), picture);
    fillFacts(byId("identity-facts"), [["Node ID", self.nodeid], ["Peer ID (public key)", self.peerid]]);
  } catch (error) {
    if (mine === loads) say("profile-state", error.message, "error");
  } finally {
    if (mine === loads) byId("profile-fields").disabled = false;
  }
}

async function readPicture() {
  const file = byId("p-6").files?.[0];
  if (!file) return null;
  if (file.size > MAX_PICTURE) throw new Error(`The picture has ${Math.ceil(file.size / 1024)} KiB; at most 48 KiB fit.`);
  return bytesToB64(await file.arrayBuffer());
}

async function saveProfile(event) {
  event.preventDefault();
  say("profile-state", "Saving…");
  const write = [];
  const remove = [];
  for (const type of TEXT_FIELDS) {
    const text = byId(`p-${type}`).value.trim();
    if (text === (saved.get(type) ?? "")) continue;
    if (text) write.push({ type, text, blob: null });
    else remove.push({ type });
  }
  try {
    const picture = await readPicture();
    if (picture) write.push({ type: PICTURE, text: "", blob: picture });
    if (!write.length && !remove.length) {
      say("profile-state", "Nothing changed.");
      return;
    }
    for (const [path, fields] of [["/profile/write", write], ["/profile/delete", remove]]) {
      if (!fields.length) continue;
      const answer = await post(path, { fields });
      if (answer.status !== 0) throw new Error(`The node refused the change (status ${answer.status}).`);
    }
    byId("p-6").value = "";
    say("profile-state", "Profile saved.", "ok");
    await load();
  } catch (error) {
    say("profile-state", error.message, "error");
  }
}

async function removePicture() {
  try {
    const answer = await post("/profile/delete", { fields: [{ type: PICTURE }] });
    say("profile-state", answer.status === 0 ? "Picture removed." : `Not removed (status ${answer.status}).`,
      answer.status === 0 ? "ok" : "error");
    await load();
  } catch (error) {
    say("profile-state", error.message, "error");
  }
}

export function init() {
  byId("profile-form").addEventListener("submit", saveProfile);
  byId("picture-remove").addEventListener("click", removePicture);
  byId("p-6").addEventListener("change", async () => {
    try {
      const picture = await readPicture();
      if (picture) showPicture(byId("profile-picture"), picture);
      say("profile-state", picture ? "New picture chosen; save to publish it." : "");
    } catch (error) {
      say("profile-state", error.message, "error");
    }
  });
}

export function show() {
  load();
}

export function hide() {}
