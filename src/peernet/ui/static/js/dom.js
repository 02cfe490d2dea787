// Small DOM helpers. Text from the network (file names, user names, descriptions) is only ever set as
// text, never parsed as HTML.

/** Create an element: h("td", {class: "num"}, "12", otherNode). Attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** The element with this id (throws when the page lacks it, which is a bug). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Set a live region's text (and its tone: "", "error" or "ok"). */
export function say(id, text, tone = "") {
  const el = byId(id);
  el.textContent = text;
  el.dataset.tone = tone;
}

/** A <dl> filled from [term, value] pairs. */
export function fillFacts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/**
 * Show items as rows of tbody (or items of a list) without rebuilding rows whose item did not change, so
 * that keyboard focus survives a refresh. key(item) names a row; row(item) builds one.
 */
export function syncRows(parent, items, key, row) {
  const old = new Map([...parent.children].map((el) => [el.dataset.key, el]));
  const wanted = items.map((item) => {
    const name = key(item);
    const signature = JSON.stringify(item);
    const existing = old.get(name);
    if (existing && existing.dataset.signature === signature) return existing;
    const el = row(item);
    el.dataset.key = name;
    el.dataset.signature = signature;
    return el;
  });
  wanted.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] ?? null);
  });
  while (parent.children.length > wanted.length) parent.lastElementChild.remove();
}
