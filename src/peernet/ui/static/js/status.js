// Status and peers: GET /status, GET /status/peers, GET /account/info.

import { get } from "./api.js";
import { byId, fillFacts, h, syncRows } from "./dom.js";
import { b64ToHex, shortId } from "./formats.js";

let timer = 0;

/** The footer line: connected or not, and how many peers (GET /status). */
export async function refreshConnection() {
  const conn = byId("conn");
  const show = (text, tone) => { // unchanged text is not written again, so screen readers stay quiet
    if (conn.textContent !== text) conn.textContent = text;
    conn.dataset.tone = tone;
  };
  try {
    const status = await get("/status");
    const peers = status.countpeerlist === 1 ? "1 peer" : `${status.countpeerlist} peers`;
    show(status.isconnected ? `Connected · ${peers}` : `Not connected yet · ${peers}`, status.isconnected ? "ok" : "");
    return status;
  } catch (error) {
    show(error.message, "error");
    return null;
  }
}

function peerRow(peer) {
  const node = b64ToHex(peer.nodeid);
  return h("tr", {},
    h("td", { class: "mono", title: node }, shortId(node)),
    h("td", {}, peer.useragent || "—"),
    h("td", {}, peer.isroot ? "yes" : "no"),
    h("td", { class: "num" }, peer.blockchainheight),
    h("td", {}, peer.geoip || "—"),
    h("td", {}, h("a", { href: `#peer/${node}`, "aria-label": `Files and profile of ${shortId(node)}` }, "Files")));
}

async function refresh() {
  const [status, peers, self] = await Promise.all([refreshConnection(), get("/status/peers").catch(() => null),
    get("/account/info").catch(() => null)]);
  if (status) {
    fillFacts(byId("status-facts"), [
      ["Connected", status.isconnected ? "yes" : "no"],
      ["Peers", String(status.countpeerlist)],
      ["Node ID", self?.nodeid ?? "—"],
    ]);
  }
  if (Array.isArray(peers)) {
    const sorted = [...peers].sort((a, b) => (a.nodeid < b.nodeid ? -1 : 1));
    syncRows(byId("peers-body"), sorted, (peer) => peer.nodeid, peerRow);
    byId("peers-empty").hidden = peers.length > 0;
  }
}

export function show() {
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 3000);
}

export function hide() {
  clearInterval(timer);
}
