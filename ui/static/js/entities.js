// The entities pages: the registered types (#/entities), the entities of a
// type searched by ID prefix on the server, a page at a time
// (#/entities/TYPE?prefix=), and one entity (#/entities/TYPE/ID): its
// state, snapshot, events with their versions, and a command form typed by
// the JSON Schema of the type's commands.

import {view, el, fmtTime, pretty, thead, pagePanel} from './dom.js';
import {api, showMessage, startLive, stopLive, whoami} from './api.js';
import {schemaForm} from './schemaform.js';

function typeHref(type, prefix) { return '#/entities/' + encodeURIComponent(type) + (prefix ? '?prefix=' + encodeURIComponent(prefix) : ''); }
function entityHref(type, id) { return '#/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id); }
function entityAPI(type, id) { return '/api/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id); }

export async function showEntities() {
  stopLive();
  const list = el('ul', {id: 'entity-types', class: 'plain'});
  view.replaceChildren(pagePanel('Entities', 'An entity is a stream of events ("<type>:<id>"); its state is their fold. Pick a type to browse its entities.',
    list));
  try {
    const r = await api('/api/entities');
    list.replaceChildren(...r.entity_types.map((t) => el('li', {'data-type': t}, el('a', {href: typeHref(t)}, t))));
    if (!r.entity_types.length) list.append(el('li', {class: 'hint'}, 'No entity types are registered on this server.'));
  } catch (e) { showMessage(e.message); }
}

// showEntityType lists the entities of type whose IDs start with the
// prefix, a page at a time, with a form to open one by ID.
export async function showEntityType(type, params) {
  stopLive();
  const prefix = params.get('prefix') || '';
  const search = el('input', {type: 'search', id: 'entity-prefix', placeholder: 'ID prefix', 'aria-label': 'ID prefix', value: prefix});
  const form = el('form', {class: 'filters', id: 'entity-search'}, search, el('button', {type: 'submit'}, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = typeHref(type, search.value.trim());
  });
  const body = el('tbody', {id: 'entities-body'});
  const more = el('button', {type: 'button', id: 'entities-more', hidden: true}, 'Next page');
  view.replaceChildren(el('section', {class: 'panel'},
    el('h1', {}, el('a', {href: '#/entities'}, 'Entities'), ' / ', el('code', {id: 'entity-type-title'}, type)),
    form,
    el('table', {}, thead(['ID', 'Version']), body),
    el('div', {class: 'row'}, more)));
  let cursor = '';
  const page = async () => {
    const q = new URLSearchParams({limit: '50'});
    if (prefix) q.set('prefix', prefix);
    if (cursor) q.set('cursor', cursor);
    const r = await api('/api/entities/' + encodeURIComponent(type) + '?' + q);
    body.append(...r.entities.map((e) => el('tr', {'data-entity': e.id},
      el('td', {}, el('a', {href: entityHref(type, e.id), class: 'entity-link'}, e.id)), el('td', {}, String(e.version)))));
    if (!body.children.length) body.append(el('tr', {}, el('td', {colspan: 2, class: 'empty'}, prefix ? 'No entity ID starts with "' + prefix + '".' : 'No entity of this type has events.')));
    cursor = r.next_cursor || '';
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => page().catch((e) => showMessage(e.message)));
  try { await page(); } catch (e) { showMessage(e.message); }
}

function eventsTable(events) {
  const rows = events.map((e) => el('tr', {'data-position': e.position},
    el('td', {}, String(e.version)), el('td', {}, String(e.position)), el('td', {}, e.type),
    el('td', {}, fmtTime(e.time)), el('td', {}, (e.tags || []).join(', ')),
    el('td', {class: 'data'}, el('code', {}, e.data === undefined ? '' : JSON.stringify(e.data)))));
  if (!rows.length) rows.push(el('tr', {}, el('td', {colspan: 6, class: 'empty'}, 'No events: the entity has its initial state.')));
  return el('table', {id: 'entity-events'},
    thead(['Version', 'Position', 'Type', 'Time', 'Tags', 'Data']),
    el('tbody', {}, rows));
}

async function refreshEntity(box, type, id) {
  const [st, evs, snap] = await Promise.all([api(entityAPI(type, id)), api(entityAPI(type, id) + '/events'), api(entityAPI(type, id) + '/snapshot')]);
  box.replaceChildren(
    el('dl', {class: 'facts'},
      el('dt', {}, 'Stream'), el('dd', {id: 'entity-stream'}, el('a', {href: '#/events?stream=' + encodeURIComponent(st.stream)}, st.stream)),
      el('dt', {}, 'Version'), el('dd', {id: 'entity-version'}, String(st.version)),
      el('dt', {}, 'Snapshot'), el('dd', {id: 'entity-snapshot'}, snap.present ? 'at version ' + snap.version : 'none')),
    el('div', {class: 'io'},
      el('div', {}, el('h3', {}, 'State'), el('pre', {id: 'entity-state'}, pretty(st.state))),
      snap.present ? el('div', {}, el('h3', {}, 'Snapshot (version ' + snap.version + ')'), el('pre', {id: 'entity-snapshot-state'}, pretty(snap.state))) : ''),
    el('h3', {}, 'Events'), eventsTable(evs.events));
  return evs.events.length ? evs.events[evs.events.length - 1].position : 0;
}

// commandForm is the typed form of the type's command schema, with a JSON
// text area for what a form cannot type (or an unregistered type); JSON
// typed there wins.
function commandForm(box, type, id, schema) {
  const typed = schema ? schemaForm(schema.oneOf ? null : schema, 'cmd') : null;
  const cmd = el('textarea', {id: 'command-body', rows: 3, placeholder: 'the command as JSON' + (schema && schema.oneOf ? ': {"type": name, "data": …}' : '')});
  const cmdID = el('input', {id: 'command-id', placeholder: 'command ID (optional, for idempotency)'});
  const form = el('form', {id: 'command-form', class: 'panel'},
    el('h2', {}, 'Send a command'),
    typed && !schema.oneOf ? typed.node : '',
    schema && schema.oneOf ? el('p', {class: 'hint'}, 'Commands: ' + schema.oneOf.map((a) => a.title).join(', ')) : '',
    el('details', {open: !typed || Boolean(schema.oneOf)}, el('summary', {}, 'As JSON'), cmd),
    el('div', {class: 'row'}, cmdID),
    el('button', {type: 'submit', id: 'command-send'}, 'Send command'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = cmd.value.trim() ? JSON.parse(cmd.value) : typed && !schema.oneOf ? typed.value() : undefined;
    } catch (e) { showMessage('The command is not valid: ' + e.message); return; }
    if (body === undefined) { showMessage('Type the command as JSON.'); return; }
    const req = {command: body};
    if (cmdID.value) req.command_id = cmdID.value;
    try {
      const st = await api(entityAPI(type, id) + '/commands', {method: 'POST', body: req});
      showMessage('Command accepted; the entity is at version ' + st.version + '.', 'ok');
      await refreshEntity(box, type, id);
    } catch (e) { showMessage(e.message); }
  });
  return form;
}

export async function showEntity(type, id) {
  stopLive();
  const box = el('div', {id: 'entity-box'}, el('p', {class: 'hint'}, 'Loading…'));
  const lookup = el('input', {type: 'search', id: 'entity-id', placeholder: 'open another ID', 'aria-label': 'entity ID'});
  const go = el('form', {class: 'filters', id: 'entity-lookup'}, lookup, el('button', {type: 'submit'}, 'Open'));
  go.addEventListener('submit', (ev) => { ev.preventDefault(); if (lookup.value.trim()) location.hash = entityHref(type, lookup.value.trim()); });
  view.replaceChildren(el('section', {class: 'panel'},
    el('h1', {}, el('a', {href: '#/entities'}, 'Entities'), ' / ', el('a', {href: typeHref(type)}, type), ' / ', el('code', {id: 'entity-title'}, id)),
    go, box));
  let after;
  try { after = await refreshEntity(box, type, id); } catch (e) { box.replaceChildren(el('p', {class: 'hint'}, e.message)); return; }
  const [list, me] = await Promise.all([api('/api/entities/' + encodeURIComponent(type) + '?limit=1').catch(() => ({})), whoami()]);
  if (me.role === 'admin') view.append(commandForm(box, type, id, list.command_schema));
  const p = new URLSearchParams({stream: type + ':' + id, after: String(after)});
  startLive('/api/live/events?' + p, (t) => {
    if (t === 'event') refreshEntity(box, type, id).catch((e) => showMessage(e.message));
  });
}
