// The entities pages: look up an entity by type and ID (#/entities) and one
// entity's state, events and command form (#/entities/TYPE/ID).

import {view, el, fmtTime, pretty} from './dom.js';
import {api, showMessage, startLive, stopLive} from './api.js';

function entityHref(type, id) { return '#/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id); }
function entityAPI(type, id) { return '/api/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id); }

// entityLookup is the form that opens an entity by type and ID.
function entityLookup(type, id) {
  const typeSel = el('select', {id: 'entity-type', 'aria-label': 'Entity type', required: true});
  const idIn = el('input', {id: 'entity-id', placeholder: 'entity ID', required: true, value: id || ''});
  const form = el('form', {class: 'filters', id: 'entity-lookup'}, typeSel, idIn, el('button', {type: 'submit'}, 'Show'));
  api('/api/entities').then((r) => {
    if (!r.entity_types.length) typeSel.append(el('option', {value: ''}, 'no entity types registered'));
    for (const t of r.entity_types) typeSel.append(el('option', {value: t, selected: t === type}, t));
  }).catch((e) => showMessage(e.message));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (typeSel.value && idIn.value) location.hash = entityHref(typeSel.value, idIn.value);
  });
  return form;
}

export function showEntities() {
  stopLive();
  view.replaceChildren(el('section', {class: 'panel'},
    el('h1', {}, 'Entities'),
    el('p', {class: 'hint'}, 'An entity is a stream of events ("<type>:<id>"); its state is their fold. Look one up by type and ID.'),
    entityLookup('', '')));
}

const entityState = {type: '', id: '', command: ''};

function eventsTable(events, id) {
  const rows = events.map((e) => el('tr', {'data-position': e.position},
    el('td', {}, String(e.version)), el('td', {}, String(e.position)), el('td', {}, e.type),
    el('td', {}, fmtTime(e.time)), el('td', {}, (e.tags || []).join(', ')),
    el('td', {}, el('code', {}, e.data === undefined ? '' : JSON.stringify(e.data)))));
  if (!rows.length) rows.push(el('tr', {}, el('td', {colspan: 6, class: 'empty'}, 'No events: the entity has its initial state.')));
  return el('table', {id: id},
    el('thead', {}, el('tr', {}, ['Version', 'Position', 'Type', 'Time', 'Tags', 'Data'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

async function refreshEntity(box) {
  const {type, id} = entityState;
  const [st, evs] = await Promise.all([api(entityAPI(type, id)), api(entityAPI(type, id) + '/events')]);
  if (type !== entityState.type || id !== entityState.id) return 0;
  box.replaceChildren(
    el('dl', {class: 'facts'},
      el('dt', {}, 'Stream'), el('dd', {id: 'entity-stream'}, st.stream),
      el('dt', {}, 'Version'), el('dd', {id: 'entity-version'}, String(st.version))),
    el('h3', {}, 'State'), el('pre', {id: 'entity-state'}, pretty(st.state)),
    el('h3', {}, 'Events'), eventsTable(evs.events, 'entity-events'));
  return evs.events.length ? evs.events[evs.events.length - 1].position : 0;
}

function commandForm(box) {
  const cmd = el('textarea', {id: 'command-body', rows: 4, placeholder: 'command (JSON)'}, entityState.command);
  const cmdID = el('input', {id: 'command-id', placeholder: 'command ID (optional, for idempotency)'});
  cmd.addEventListener('input', () => { entityState.command = cmd.value; });
  const form = el('form', {id: 'command-form', class: 'panel'},
    el('h2', {}, 'Send a command'), cmd, el('div', {class: 'row'}, cmdID),
    el('button', {type: 'submit', id: 'command-send'}, 'Send command'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try { body = JSON.parse(cmd.value); } catch (e) { showMessage('The command is not valid JSON: ' + e.message); return; }
    const req = {command: body};
    if (cmdID.value) req.command_id = cmdID.value;
    try {
      const st = await api(entityAPI(entityState.type, entityState.id) + '/commands', {method: 'POST', body: req});
      showMessage('Command accepted; the entity is at version ' + st.version + '.', 'ok');
      await refreshEntity(box);
    } catch (e) { showMessage(e.message); }
  });
  return form;
}

export async function showEntity(type, id) {
  stopLive();
  if (entityState.type !== type || entityState.id !== id) Object.assign(entityState, {type, id, command: ''});
  const box = el('div', {id: 'entity-box'}, el('p', {class: 'hint'}, 'Loading…'));
  view.replaceChildren(
    el('section', {class: 'panel'},
      el('h1', {}, 'Entity ', el('code', {id: 'entity-title'}, type + ' ' + id)),
      entityLookup(type, id), box),
    commandForm(box));
  let after;
  try { after = await refreshEntity(box); } catch (e) { box.replaceChildren(el('p', {class: 'hint'}, e.message)); return; }
  const p = new URLSearchParams({tag: type + ':' + id, after: String(after)});
  startLive('/api/live/events?' + p, (t) => {
    if (t === 'event') refreshEntity(box).catch((e) => showMessage(e.message));
  });
}
