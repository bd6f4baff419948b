// The timers page (#/timers?prefix=): the named timers (weft.SetTimer)
// whose names start with the prefix, filtered on the server
// (GET /api/timers?prefix=), each with its target, when it fires and in how
// long, its attempts and last error. An admin token also gets a Cancel
// button per timer, confirmed first (DELETE /api/timers/{name}). Timers fire
// and leave the list, so it refreshes every 2 seconds while it is open.

import {view, el, fmtTime, fmtRelative, pretty, thead, pagePanel} from './dom.js';
import {api, poll, serial, showMessage, whoami} from './api.js';
import {ask} from './dialog.js';

function timerAPI(name) { return '/api/timers/' + encodeURIComponent(name); }
function entityHref(type, id) { return '#/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id); }

// target says what the timer does: a command to an entity (a link to the
// entity's page) or the start of a workflow run (the run does not exist
// until the timer fires, so its ID is not a link).
function target(t) {
  if (t.kind === 'start') {
    return el('span', {}, 'start ', el('code', {}, t.workflow), ' as ', el('code', {}, t.run_id));
  }
  return el('span', {}, 'command to ', el('a', {href: entityHref(t.entity, t.entity_id)}, t.entity + ' ' + t.entity_id));
}

// when is the "in …" cell: how long until the timer is due, or since when
// it is overdue (a worker is firing it, or none has claimed it yet); a
// timer without a due time failed for good.
function when(t, now) {
  if (!t.due_at) return el('td', {class: 'err when'}, 'failed for good');
  const overdue = new Date(t.due_at) <= now;
  return el('td', {class: 'when' + (overdue ? ' lagging' : ''), title: overdue ? 'due: waiting for a worker to fire it' : ''}, fmtRelative(t.due_at, now));
}

// state is the timer's firing state: the worker firing it and the last
// failure, if any.
function state(t) {
  const parts = [];
  if (t.lease_owner) parts.push(el('div', {}, 'firing on ', el('code', {}, t.lease_owner)));
  if (t.error) parts.push(el('div', {class: 'err'}, t.error));
  return el('td', {class: 'timer-state'}, parts.length ? parts : 'waiting');
}

function timerRow(t, now, admin, refresh) {
  const actions = [];
  if (admin) {
    actions.push(el('button', {type: 'button', class: 'cancel', 'data-timer': t.name, onclick: async () => {
      const what = t.kind === 'start' ? 'start ' + t.workflow + ' as ' + t.run_id : 'send its command to ' + t.entity + ' ' + t.entity_id;
      if (await ask('Cancel timer ' + t.name, 'The timer will not ' + what + '. Setting the name again schedules a new one.', null) === null) return;
      try {
        await api(timerAPI(t.name), {method: 'DELETE'});
        showMessage('Timer ' + t.name + ' cancelled.', 'ok');
      } catch (e) { showMessage(e.message); }
      refresh();
    }}, 'Cancel'));
  }
  return el('tr', {'data-timer': t.name},
    el('td', {class: 'name'}, t.name),
    el('td', {class: 'target'}, target(t)),
    el('td', {class: 'due'}, t.due_at ? fmtTime(t.due_at) : '–'),
    when(t, now),
    el('td', {}, String(t.attempts)),
    state(t),
    el('td', {}, el('details', {}, el('summary', {}, t.kind === 'start' ? 'input' : 'command'), el('pre', {class: 'payload'}, pretty(t.payload)))),
    el('td', {class: 'actions'}, actions));
}

export async function showTimers(params) {
  const prefix = params.get('prefix') || '';
  const search = el('input', {type: 'search', id: 'timer-prefix', placeholder: 'name prefix', 'aria-label': 'name prefix', value: prefix});
  const form = el('form', {class: 'filters', id: 'timer-search'}, search, el('button', {type: 'submit'}, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = search.value.trim();
    location.hash = '#/timers' + (p ? '?prefix=' + encodeURIComponent(p) : '');
  });
  const body = el('tbody', {id: 'timers-body'});
  const count = el('span', {class: 'hint', id: 'timers-count'});
  const me = await whoami();
  const admin = me.role === 'admin';
  view.replaceChildren(pagePanel('Timers', 'Named timers send a command to an entity or start a workflow run at their time; setting a name again replaces its timer. A timer leaves the list once its command or start commits.',
    form,
    el('table', {class: 'timers'},
      thead(['Name', 'Target', 'Due', 'In', 'Attempts', 'State', 'Payload', '']),
      body),
    el('div', {class: 'row'}, count,
      admin ? '' : el('span', {class: 'hint', id: 'read-only'}, 'Your token is read-only: cancelling a timer needs an admin token.'))));
  // Rows are kept by name while the timer is unchanged, so that a refresh
  // keeps the keyboard selection and an open payload; only "in …" moves.
  let rows = new Map();
  const refresh = serial(async () => {
    const list = await api('/api/timers' + (prefix ? '?prefix=' + encodeURIComponent(prefix) : ''));
    if (!document.body.contains(body)) return;
    // Due times are told from the engine's clock, which a test clock may
    // have moved far from this browser's.
    const now = list.now ? new Date(list.now) : new Date();
    const next = new Map();
    for (const t of list.timers) {
      const key = JSON.stringify(t);
      const old = rows.get(t.name);
      if (old && old.key === key) {
        old.tr.querySelector('td.when').replaceWith(when(t, now));
        next.set(t.name, old);
      } else {
        next.set(t.name, {key, tr: timerRow(t, now, admin, refresh)});
      }
    }
    rows = next;
    body.replaceChildren(...[...rows.values()].map((r) => r.tr));
    if (!rows.size) body.append(el('tr', {}, el('td', {colspan: 8, class: 'empty'}, prefix ? 'No timer name starts with "' + prefix + '".' : 'No named timers.')));
    count.textContent = rows.size === 1 ? '1 timer' : rows.size + ' timers';
  });
  await poll(refresh, 2000, () => document.body.contains(body));
}
