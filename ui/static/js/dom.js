// DOM and formatting helpers shared by every page. Every value that comes
// from the API is put in the page with textContent (through el()), never as
// HTML.

export const STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'terminated', 'suspended', 'blocked'];

// ENDED are the statuses of runs that will not change any more.
export const ENDED = new Set(['completed', 'failed', 'cancelled', 'terminated']);

// view is the element every page renders into.
export const view = document.getElementById('view');

// el builds an element; attrs are set with setAttribute (or as properties for
// on* handlers given as functions); children are nodes or text.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.replace(/^on/, ''), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// pagePanel is the first panel of a page: its title, a hint that says
// what the page shows, then the page's own content.
export function pagePanel(title, hint, ...content) {
  return el('section', {class: 'panel'}, el('h1', {}, title), el('p', {class: 'hint'}, hint), ...content);
}

// thead is a table's header row of the column names heads.
export function thead(heads) {
  return el('thead', {}, el('tr', {}, heads.map((h) => el('th', {}, h))));
}

export function runHref(id) { return '#/runs/' + encodeURIComponent(id); }
export function runAPI(id) { return '/api/runs/' + encodeURIComponent(id); }

export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

export function fmtDuration(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return '';
  if (ms < 1) return (ms * 1000).toFixed(0) + ' µs';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  // Round to the smaller unit first, so that 6.9999 days reads "7 d 0 h".
  const two = (n, big, small) => Math.floor(n / big) + ' ' + small[0] + ' ' + (n % big) + ' ' + small[1];
  if (s < 3600) return two(Math.round(s), 60, ['min', 's']);
  if (s < 86400) return two(Math.round(s / 60), 60, ['h', 'min']);
  return two(Math.round(s / 3600), 24, ['d', 'h']);
}

export function pretty(v) {
  if (v === undefined) return '';
  try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
}

export function statusBadge(status, attrs) {
  return el('span', Object.assign({class: 'status status-' + (STATUSES.includes(status) ? status : 'unknown')}, attrs || {}), status);
}


// fmtSpan is the duration from one time to another (now when to is empty).
export function fmtSpan(from, to) {
  if (!from) return '';
  return fmtDuration((to ? new Date(to) : new Date()) - new Date(from));
}

// fmtRelative is how far a time is from now: "in 5 min", "3 s ago",
// "now" within a second.
export function fmtRelative(t, now) {
  const ms = new Date(t) - (now || new Date());
  if (isNaN(ms)) return '';
  if (Math.abs(ms) < 1000) return 'now';
  return ms > 0 ? 'in ' + fmtDuration(ms) : fmtDuration(-ms) + ' ago';
}

// splitSource splits "file:line" into [file, line].
export function splitSource(src) {
  const i = (src || '').lastIndexOf(':');
  if (i < 0) return [src || '', 0];
  return [src.slice(0, i), parseInt(src.slice(i + 1), 10) || 0];
}
