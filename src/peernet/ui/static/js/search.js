// Search: POST /search starts a job; GET /search/result (reset=1 with the filters first, then the next
// results after the node's cursor) is polled until the job says there is no more. GET /search/terminate
// stops it. Below the search, GET /explore lists what peers shared recently.

import { get, post } from "./api.js";
import { byId, h, say } from "./dom.js";
import { FILE_FORMATS, FILE_TYPES, SORTS, b64ToHex, formatDate, formatSize, kind, searchDate, shortId } from "./formats.js";
import { startDownload } from "./downloads.js";

const TIMEOUT_SECONDS = 20;
const PAGE = 100;
const POLL_MS = 500;
const MAX_SHOWN = 2000;

let job = null; // {id, timer, seen: Set, stopped}

function options(select, names, anyLabel) {
  select.replaceChildren(...(anyLabel ? [h("option", { value: -1 }, anyLabel)] : []),
    ...names.map((name, value) => h("option", { value }, name)));
}

/** The filters as the API reads them: -1 = not used; sizes in bytes; dates "YYYY-MM-DD hh:mm:ss" UTC. */
function filters() {
  const unit = Number(byId("f-unit").value);
  const size = (id) => (byId(id).value === "" ? -1 : Math.round(Number(byId(id).value) * unit));
  return {
    filetype: Number(byId("f-type").value),
    fileformat: Number(byId("f-format").value),
    sizemin: size("f-sizemin"),
    sizemax: size("f-sizemax"),
    from: searchDate(byId("f-from").value, false),
    to: searchDate(byId("f-to").value, true),
    sort: Number(byId("f-sort").value),
  };
}

function ownerLabel(file, node) {
  return file.username || shortId(node);
}

/** A table row for a file of the network, with a Download button that reports in the status line stateId. */
function resultRow(file, stateId = "search-state") {
  const node = b64ToHex(file.nodeid);
  const state = h("span", { class: "muted" });
  const download = h("button", {
    type: "button",
    "aria-label": `Download ${file.name}`,
    onclick: async () => {
      download.disabled = true;
      try {
        say(stateId, await startDownload(file));
      } catch (error) {
        say(stateId, error.message, "error");
      }
      download.disabled = false;
    },
  }, "Download");
  return h("tr", {},
    h("td", { class: "name" }, file.name || "(no name)", file.description ? h("div", { class: "muted" }, file.description) : null),
    h("td", {}, kind(file)),
    h("td", { class: "num" }, formatSize(file.size)),
    h("td", {}, formatDate(file.date)),
    h("td", {}, h("a", { href: `#peer/${node}`, title: node }, ownerLabel(file, node))),
    h("td", {}, download, state));
}

function showFiles(files) {
  const body = byId("results-body");
  for (const file of files) {
    const key = `${file.nodeid}/${file.id}/${file.hash}`;
    if (job.seen.has(key) || job.seen.size >= MAX_SHOWN) continue;
    job.seen.add(key);
    body.append(resultRow(file));
  }
  byId("results-table").hidden = job.seen.size === 0;
}

function finish(text) {
  clearTimeout(job.timer);
  job.stopped = true;
  byId("search-stop").disabled = true;
  say("search-state", text);
}

function count() {
  return job.seen.size === 1 ? "1 result" : `${job.seen.size} results`;
}

function schedule(current, delay) {
  clearTimeout(current.timer);
  current.timer = setTimeout(() => loop(current), delay);
}

/**
 * One request at a time per job: a reset (new filters) while a request is out marks that answer stale,
 * since the node's cursor moves with every request.
 */
async function loop(current) {
  if (current !== job || current.stopped || current.busy) return;
  current.busy = true;
  const reset = current.resetPending;
  current.resetPending = false;
  let answer;
  try {
    const params = { id: current.id, limit: PAGE };
    if (reset) Object.assign(params, { reset: 1 }, filters());
    answer = await get("/search/result", params);
  } catch (error) {
    if (current === job && !current.stopped) finish(error.message);
    return;
  } finally {
    current.busy = false;
  }
  if (current !== job || current.stopped) return;
  if (current.resetPending) return schedule(current, 0);
  if (reset) {
    current.seen.clear();
    byId("results-body").replaceChildren();
  }
  const files = answer.files ?? [];
  showFiles(files);
  if (answer.status === 2) return finish("The search has expired. Search again.");
  if (answer.status === 1) return finish(`Search complete: ${count()}.`);
  if (Date.now() > current.deadline) return finish(`Search stopped after ${TIMEOUT_SECONDS + 5} s: ${count()}.`);
  say("search-state", `Searching… ${count()} so far.`);
  schedule(current, files.length ? 0 : POLL_MS);
}

async function start(event) {
  event.preventDefault();
  const term = byId("search-term").value.trim();
  if (!term) return;
  const previous = job;
  if (previous && !previous.stopped) {
    clearTimeout(previous.timer);
    previous.stopped = true;
  }
  byId("results-body").replaceChildren();
  byId("results-table").hidden = true;
  const f = filters();
  say("search-state", "Searching…");
  let answer;
  try {
    answer = await post("/search", {
      term, timeout: TIMEOUT_SECONDS, maxresults: 500, sort: f.sort, filetype: f.filetype, fileformat: f.fileformat,
      sizemin: f.sizemin, sizemax: f.sizemax, ...(f.from && f.to ? { datefrom: f.from, dateto: f.to } : {}),
      terminate: previous ? [previous.id] : [],
    });
  } catch (error) {
    say("search-state", error.message, "error");
    return;
  }
  if (answer.status !== 0) {
    say("search-state", answer.status === 2 ? "Too many searches at once; try again shortly." : "Use a longer search term.", "error");
    return;
  }
  job = {
    id: answer.id, timer: 0, seen: new Set(), stopped: false, busy: false, resetPending: true,
    deadline: Date.now() + (TIMEOUT_SECONDS + 5) * 1000,
  };
  byId("search-stop").disabled = false;
  loop(job);
}

/** New filters for the running (or finished) search: the node refilters everything it found (reset=1). */
function refilter() {
  if (!job) return;
  job.resetPending = true;
  job.stopped = false;
  job.deadline = Math.max(job.deadline, Date.now() + 5000);
  byId("search-stop").disabled = false;
  say("search-state", "Filtering…");
  if (!job.busy) schedule(job, 0);
}

async function stop() {
  if (!job || job.stopped) return;
  const current = job;
  finish(`Stopped: ${count()}.`);
  try {
    await get("/search/terminate", { id: current.id });
  } catch {
    // already gone on the node
  }
}

export function init() {
  options(byId("f-type"), FILE_TYPES, "Any type");
  options(byId("f-format"), FILE_FORMATS, "Any format");
  options(byId("f-sort"), SORTS, null);
  byId("f-sort").value = "4";
  byId("search-form").addEventListener("submit", start);
  byId("search-stop").addEventListener("click", stop);
  byId("recent-refresh").addEventListener("click", loadRecent);
  for (const id of ["f-type", "f-format", "f-sizemin", "f-sizemax", "f-unit", "f-from", "f-to", "f-sort"]) {
    byId(id).addEventListener("change", refilter);
  }
}

let recentLoaded = false;

async function loadRecent() {
  recentLoaded = true;
  say("recent-state", "Loading…");
  try {
    const answer = await get("/explore", { limit: 50, type: -1 });
    const files = answer.files ?? [];
    byId("recent-body").replaceChildren(...files.map((file) => resultRow(file, "recent-state")));
    say("recent-state", files.length ? "" : "Nothing yet: your node learns what peers share as it meets them.");
  } catch (error) {
    say("recent-state", error.message, "error");
  }
}

export function show() {
  if (!recentLoaded) loadRecent();
}

export function hide() {}
