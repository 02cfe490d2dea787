// The Peernet node's web UI.
//
// Plain ES modules and the DOM, no framework: the UI is a handful of forms and tables that poll a JSON
// API, which needs no virtual DOM or reactivity; there is nothing to build, vendor or keep up to date,
// the page loads in one round trip per module, and a strict Content-Security-Policy (scripts from the
// node only, no eval) holds, which template-compiling libraries such as petite-vue would break.
//
// Views are shown by the URL fragment (#status, #search, #downloads, #share, #profile, #peer/<node ID>).
// The API key arrives once as #key=... and is moved into sessionStorage at once (api.js).

import { forgetKey, hasKey, setKey, takeKeyFromFragment } from "./api.js";
import { byId } from "./dom.js";
import * as downloads from "./downloads.js";
import * as peer from "./peer.js";
import * as profile from "./profile.js";
import * as search from "./search.js";
import * as share from "./share.js";
import * as status from "./status.js";

const VIEWS = { status, search, downloads, share, profile, peer };
let current = null;
let connectionTimer = 0;

function route() {
  const [name, arg] = location.hash.replace(/^#/, "").split("/");
  return hasKey() ? (name in VIEWS ? [name, arg] : ["status", undefined]) : ["key", undefined];
}

function showView(event) {
  const [name, arg] = route();
  current?.hide?.();
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${name}`;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  current = VIEWS[name] ?? null;
  current?.show?.(arg);
  const heading = document.querySelector(`#view-${name} h2`);
  document.title = `${heading?.textContent ?? "Peernet"} · Peernet`;
  const focusLost = document.activeElement === document.body || document.activeElement?.closest("nav, .view[hidden]");
  if (event && focusLost) {
    heading?.focus();
  }
}

function startConnectionLine() {
  clearInterval(connectionTimer);
  status.refreshConnection();
  connectionTimer = setInterval(status.refreshConnection, 3000);
}

function onUnauthorized() {
  forgetKey();
  clearInterval(connectionTimer);
  byId("conn").textContent = "Not connected: the API key is missing or wrong.";
  byId("conn").dataset.tone = "error";
  showView();
}

function main() {
  takeKeyFromFragment();
  for (const view of Object.values(VIEWS)) view.init?.();
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(byId("key-input").value);
    byId("key-input").value = "";
    startConnectionLine();
    showView();
  });
  // a file dropped outside the drop zone would make the browser leave the page
  for (const name of ["dragover", "drop"]) window.addEventListener(name, (event) => event.preventDefault());
  window.addEventListener("hashchange", showView);
  window.addEventListener("peernet:unauthorized", onUnauthorized);
  if (hasKey()) startConnectionLine();
  else byId("conn").textContent = "Not connected";
  showView();
}

main();
