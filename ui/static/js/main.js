// The shell of the weft UI: the token form, the nav, and the router that
// shows the page a location hash names. Each page lives in its own module
// and registers here with one line in routes; the runs list is the default.

import {clearMessage, forgetWhoami, tokenForm} from './api.js';
import {showRuns} from './runs.js';
import {showRun} from './run.js';
import {showEntities, showEntity, showEntityType} from './entities.js';
import {showConsumers} from './consumers.js';
import {showOverview} from './overview.js';
import {showEvents} from './events.js';
import {showQueues} from './queues.js';
import {showTimers} from './timers.js';
import {installKeys} from './keys.js';

// decode is decodeURIComponent that gives s back when it is malformed.
function decode(s) {
  try { return decodeURIComponent(s); } catch (e) { return s; }
}

// routes maps a hash to a page: exact matches the path before '?', prefix
// passes the rest of the path to the page, split at '/' and decoded; every
// page gets the query parameters too. The first match wins.
const routes = [
  {exact: '#/consumers', show: () => showConsumers()},
  {exact: '#/entities', show: () => showEntities()},
  {exact: '#/overview', show: () => showOverview()},
  {exact: '#/queues', show: () => showQueues()},
  {exact: '#/events', show: (_, params) => showEvents(params)},
  {exact: '#/timers', show: (_, params) => showTimers(params)},
  {prefix: '#/entities/', show: (parts, params) => (parts.length === 2 ? showEntity(parts[0], parts[1]) : showEntityType(parts[0], params))},
  {prefix: '#/runs/', show: (parts, params) => showRun(parts.join('/'), params)},
];

export function route() {
  const h = location.hash || '#/';
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('on', a.getAttribute('href') === h || Boolean(a.dataset.prefix && h.startsWith(a.dataset.prefix)));
  const q = h.indexOf('?');
  const path = q >= 0 ? h.slice(0, q) : h;
  const params = new URLSearchParams(q >= 0 ? h.slice(q + 1) : '');
  for (const r of routes) {
    if (r.exact && path === r.exact) return r.show([], params);
    if (r.prefix && path.startsWith(r.prefix)) return r.show(path.slice(r.prefix.length).split('/').map(decode), params);
  }
  return showRuns(params);
}

document.getElementById('token-button').addEventListener('click', () => {
  tokenForm.hidden = !tokenForm.hidden;
  if (!tokenForm.hidden) document.getElementById('token-input').focus();
});
tokenForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('weft-token', document.getElementById('token-input').value.trim());
  tokenForm.hidden = true;
  forgetWhoami();
  clearMessage();
  route();
});
window.addEventListener('hashchange', () => { clearMessage(); route(); });
installKeys();
route();
