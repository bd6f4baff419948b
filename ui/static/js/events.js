// The event log page (#/events): the global log filtered by stream (exact
// or prefix), type and position range, a page at a time, and a live tail
// that appends events as the log grows. The filters live in the URL.

import {view, el, fmtTime, thead, pagePanel} from './dom.js';
import {api, showMessage, startLive, stopLive} from './api.js';

const FIELDS = [
  {name: 'stream', label: 'Stream', placeholder: 'stream, e.g. booking:b-1'},
  {name: 'stream_prefix', label: 'Stream prefix', placeholder: 'prefix, e.g. run:'},
  {name: 'type', label: 'Type', placeholder: 'event type'},
  {name: 'after', label: 'After', placeholder: 'after position', type: 'number'},
  {name: 'before', label: 'Before', placeholder: 'before position', type: 'number'},
];

// streamLink links a stream to its run ("run:<id>") or to its entity
// ("<type>:<id>") when type is one of the registered entity types; any
// other stream (events appended by the application) is shown as text.
function streamLink(stream, types) {
  const i = stream.indexOf(':');
  if (i <= 0) return stream;
  const kind = stream.slice(0, i), id = stream.slice(i + 1);
  if (kind === 'run') return el('a', {href: '#/runs/' + encodeURIComponent(id)}, stream);
  if (!types.has(kind)) return stream;
  return el('a', {href: '#/entities/' + encodeURIComponent(kind) + '/' + encodeURIComponent(id)}, stream);
}

function eventRow(e, types) {
  return el('tr', {'data-position': e.position},
    el('td', {}, String(e.position)), el('td', {}, streamLink(e.stream, types)), el('td', {}, String(e.version)),
    el('td', {}, e.type), el('td', {}, fmtTime(e.time)), el('td', {}, (e.tags || []).join(', ')),
    el('td', {class: 'data'}, el('code', {}, e.data === undefined ? '' : JSON.stringify(e.data))));
}

// query returns the API query of the filters (without paging).
function query(params) {
  const q = new URLSearchParams();
  for (const f of FIELDS) if (params.get(f.name)) q.set(f.name, params.get(f.name));
  return q;
}

export async function showEvents(params) {
  stopLive();
  const inputs = FIELDS.map((f) => el('input', {id: 'ev-' + f.name, name: f.name, type: f.type || 'search', min: f.type ? 0 : null,
    placeholder: f.placeholder, 'aria-label': f.label, value: params.get(f.name) || ''}));
  const tail = el('input', {type: 'checkbox', id: 'ev-tail', checked: params.get('tail') === '1'});
  const form = el('form', {class: 'filters', id: 'ev-filters'}, inputs,
    el('label', {class: 'check'}, tail, ' Live tail'), el('button', {type: 'submit'}, 'Filter'));
  const body = el('tbody', {id: 'events-body'});
  const more = el('button', {type: 'button', id: 'ev-more', hidden: true}, 'Next page');
  const status = el('span', {class: 'hint', id: 'ev-status'});
  view.replaceChildren(pagePanel('Event log', 'Every entity and every run is a stream of events in one ordered log; each event has a global position.',
    form,
    el('table', {class: 'events'},
      thead(['Position', 'Stream', 'Version', 'Type', 'Time', 'Tags', 'Data']),
      body),
    el('div', {class: 'row'}, more, status)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const i of inputs) if (i.value.trim()) q.set(i.name, i.value.trim());
    if (tail.checked) q.set('tail', '1');
    location.hash = '#/events' + (q.toString() ? '?' + q : '');
  });
  const q = query(params);
  const types = new Set((await api('/api/entities').catch(() => ({entity_types: []}))).entity_types);
  let next = Number(params.get('after') || 0);
  const page = async () => {
    const p = new URLSearchParams(q);
    p.set('after', String(next));
    p.set('limit', '100');
    const list = await api('/api/events?' + p);
    body.append(...list.events.map((e) => eventRow(e, types)));
    next = list.next_after;
    more.hidden = list.events.length < 100;
    if (!body.children.length) body.append(el('tr', {class: 'none'}, el('td', {colspan: 7, class: 'empty'}, 'No events match.')));
    return list.events.length;
  };
  try { await page(); } catch (e) { showMessage(e.message); return; }
  more.addEventListener('click', () => page().catch((e) => showMessage(e.message)));
  if (tail.checked) {
    // Follow the log from the last event shown: a new event goes at the
    // bottom, as a terminal's tail does.
    const p = new URLSearchParams(q);
    p.set('after', String(next));
    status.textContent = 'Following the log…';
    startLive('/api/live/events?' + p, (t, e) => {
      if (t !== 'event') return;
      body.querySelector('tr.none')?.remove();
      body.append(eventRow(e, types));
      body.lastElementChild.classList.add('fresh');
    });
  }
}
