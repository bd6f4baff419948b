// The runs list page (#/ and #/?filters): filters the server applies
// (workflow, status, started and ended time ranges, ID prefix, text in the
// input) kept in the URL, counts per status, pages by cursor, and the runs
// of each schedule grouped under one row per schedule (last and next run,
// expandable) instead of flooding the list. Also the form that starts a run.

import {STATUSES, ENDED, view, el, runHref, fmtTime, fmtSpan, statusBadge, thead} from './dom.js';
import {api, showMessage, startLive, whoami} from './api.js';
import {schemaForm} from './schemaform.js';

// FILTERS are the URL's filter parameters, passed to the API as they are.
const FILTERS = ['workflow', 'status', 'started_after', 'started_before', 'ended_after', 'ended_before', 'id_prefix', 'input_contains'];
const TIMES = new Set(['started_after', 'started_before', 'ended_after', 'ended_before']);

function runRow(r) {
  const ended = ENDED.has(r.status);
  return el('tr', {'data-run': r.id},
    el('td', {}, el('a', {href: runHref(r.id), class: 'run-link'}, r.id)),
    el('td', {}, r.workflow),
    el('td', {}, statusBadge(r.status)),
    el('td', {class: 'started'}, fmtTime(r.created_at)),
    el('td', {class: 'ended'}, ended ? fmtTime(r.ended_at || r.updated_at) : ''),
    el('td', {class: 'duration'}, fmtSpan(r.created_at, ended ? (r.ended_at || r.updated_at) : '') + (ended ? '' : ' so far')),
    el('td', {class: 'build'}, r.build || ''));
}

const HEAD = ['ID', 'Workflow', 'Status', 'Started', 'Ended', 'Duration', 'Build'];

function runsTable(id, rows, empty) {
  const tbody = el('tbody', {id}, rows.length ? rows : el('tr', {}, el('td', {colspan: HEAD.length, class: 'empty'}, empty)));
  return el('table', {class: 'runs'}, thead(HEAD), tbody);
}

// toLocalInput and fromLocalInput convert between RFC 3339 and the value
// of an <input type=datetime-local> (the browser's time zone).
function toLocalInput(s) {
  const d = new Date(s);
  if (!s || isNaN(d)) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
function fromLocalInput(v) { return v ? new Date(v).toISOString() : ''; }

function filterForm(params, workflows) {
  const inputs = {};
  inputs.workflow = el('select', {id: 'filter-workflow', name: 'workflow', 'aria-label': 'Workflow'}, el('option', {value: ''}, 'all workflows'),
    workflows.map((w) => el('option', {value: w, selected: w === params.get('workflow')}, w)));
  inputs.status = el('select', {id: 'filter-status', name: 'status', 'aria-label': 'Status'}, el('option', {value: ''}, 'all statuses'),
    STATUSES.map((s) => el('option', {value: s, selected: s === params.get('status')}, s)));
  inputs.id_prefix = el('input', {id: 'filter-id', type: 'search', placeholder: 'ID starts with', value: params.get('id_prefix') || '', 'aria-label': 'ID prefix'});
  inputs.input_contains = el('input', {id: 'filter-input', type: 'search', placeholder: 'text in input', value: params.get('input_contains') || '', 'aria-label': 'Text in input'});
  for (const f of TIMES) inputs[f] = el('input', {id: 'filter-' + f.replace('_', '-'), type: 'datetime-local', value: toLocalInput(params.get(f)), 'aria-label': f.replace('_', ' ')});
  const form = el('form', {class: 'filters', id: 'run-filters'},
    inputs.workflow, inputs.status, inputs.id_prefix, inputs.input_contains,
    el('label', {class: 'range'}, 'started ', inputs.started_after, ' – ', inputs.started_before),
    el('label', {class: 'range'}, 'ended ', inputs.ended_after, ' – ', inputs.ended_before),
    el('button', {type: 'submit', id: 'filter-apply'}, 'Filter'),
    el('a', {href: '#/', class: 'clear'}, 'clear'));
  const apply = () => {
    const p = new URLSearchParams();
    for (const f of FILTERS) {
      const v = TIMES.has(f) ? fromLocalInput(inputs[f].value) : inputs[f].value.trim();
      if (v) p.set(f, v);
    }
    const s = p.toString();
    location.hash = '#/' + (s ? '?' + s : '');
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  inputs.workflow.addEventListener('change', apply);
  inputs.status.addEventListener('change', apply);
  return form;
}

// apiQuery is the API query of the page's filters, with more parameters.
function apiQuery(params, extra) {
  const p = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) p.set(f, params.get(f));
  for (const [k, v] of Object.entries(extra || {})) {
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x)); else if (v !== '' && v !== undefined) p.set(k, v);
  }
  return p;
}

function countsBar(counts, params) {
  const link = (status, label, n) => {
    const p = new URLSearchParams(params);
    if (status) p.set('status', status); else p.delete('status');
    return el('a', {href: '#/?' + p, class: 'count' + ((params.get('status') || '') === status ? ' on' : ''), 'data-status': status || 'all'},
      status ? statusBadge(status) : el('span', {class: 'status'}, label), ' ', el('strong', {}, String(n)));
  };
  return el('div', {class: 'counts', id: 'run-counts'}, link('', 'all', counts.total),
    STATUSES.filter((s) => counts.counts[s]).map((s) => link(s, s, counts.counts[s])));
}

function scheduleRows(schedules, params) {
  if (!schedules.length) return '';
  const rows = schedules.map((s) => {
    const inner = el('tr', {class: 'schedule-runs', hidden: true}, el('td', {colspan: 5}, el('p', {class: 'hint'}, 'Loading…')));
    const toggle = el('button', {type: 'button', class: 'link-button', 'aria-expanded': 'false', 'data-schedule': s.name}, '▸ ' + s.name);
    toggle.addEventListener('click', async () => {
      const open = inner.hidden;
      inner.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = (open ? '▾ ' : '▸ ') + s.name;
      if (!open) return;
      try {
        const page = await api('/api/runs?' + apiQuery(params, {id_prefix: s.name + '@', limit: 20}));
        inner.firstChild.replaceChildren(runsTable('schedule-' + s.name, page.runs.map(runRow), 'No runs of this schedule match the filters.'));
      } catch (e) { showMessage(e.message); }
    });
    return [el('tr', {class: 'schedule', 'data-schedule': s.name},
      el('td', {}, toggle), el('td', {}, s.workflow || '(function)'),
      el('td', {}, s.interval ? 'every ' + s.interval : s.cron ? 'cron ' + s.cron : '', s.paused ? [' ', el('span', {class: 'status status-suspended'}, 'paused')] : ''),
      el('td', {}, s.last_at ? fmtTime(s.last_at) : '—'), el('td', {}, s.next_at ? fmtTime(s.next_at) : '—')), inner];
  });
  return el('section', {class: 'panel'}, el('h2', {}, 'Schedules'),
    el('p', {class: 'hint'}, 'Each schedule\'s runs ("<name>@<tick>") are grouped here, out of the runs list. Expand one to see its runs.'),
    el('table', {class: 'schedules', id: 'schedules'},
      thead(['Schedule', 'Workflow', 'Every', 'Last run', 'Next run']),
      el('tbody', {}, rows)));
}

export async function showRuns(params) {
  let workflows = [], defs = [], schedules = [];
  try {
    const [w, s] = await Promise.all([api('/api/workflows'), api('/api/schedules').catch(() => ({schedules: []}))]);
    workflows = w.workflows; defs = w.definitions || []; schedules = s.schedules || [];
  } catch (e) { showMessage(e.message); }
  // A schedule's runs are "<name>@<tick>", and the runs of its internal
  // chain, which creates them, "every:<name>:<n>" or "schedule:<name>:<tick>".
  const exclude = schedules.flatMap((s) => [s.name + '@', 'every:' + s.name + ':', 'schedule:' + s.name + ':']);
  const more = el('button', {type: 'button', id: 'more', hidden: true}, 'Load more');
  const countsBox = el('div', {id: 'counts-box'});
  const table = runsTable('runs-body', [], 'Loading…');
  const tbody = table.querySelector('tbody');
  const me = await whoami();
  view.replaceChildren(
    el('section', {class: 'panel'}, el('h1', {}, 'Runs'), filterForm(params, workflows), countsBox, table, more),
    scheduleRows(schedules, params),
    me.role === 'admin' ? startForm(defs) : '');

  const cq = apiQuery(params, {exclude_prefix: exclude});
  cq.delete('status');
  api('/api/run-counts?' + cq).then((c) => countsBox.replaceChildren(countsBar(c, params))).catch((e) => showMessage(e.message));

  const runs = [];
  let cursor = '', head = 0;
  const load = async (c) => {
    const page = await api('/api/runs?' + apiQuery(params, {exclude_prefix: exclude, limit: 50, cursor: c}));
    if (!c) head = page.head_position;
    runs.push(...page.runs);
    cursor = page.next_cursor || '';
    more.hidden = !cursor;
    tbody.replaceChildren(...runs.map(runRow));
    if (!runs.length) tbody.append(el('tr', {}, el('td', {colspan: HEAD.length, class: 'empty'}, 'No runs match.')));
  };
  more.addEventListener('click', () => load(cursor).catch((e) => showMessage(e.message)));
  try { await load(''); } catch (e) { showMessage(e.message); return; }

  // Live: rows on the page change in place; a new run shows at the top
  // when the filters are only the workflow and status the stream applies.
  const lp = new URLSearchParams({after: String(head)});
  if (params.get('workflow')) lp.set('workflow', params.get('workflow'));
  const simple = FILTERS.every((f) => f === 'workflow' || f === 'status' || !params.get(f));
  startLive('/api/live/runs?' + lp, (type, r) => {
    if (type !== 'run') return;
    const i = runs.findIndex((x) => x.id === r.id);
    const keep = !params.get('status') || r.status === params.get('status');
    if (i >= 0) { if (keep) runs[i] = r; else runs.splice(i, 1); } else if (keep && simple && !exclude.some((p) => r.id.startsWith(p))) runs.unshift(r);
    else return;
    tbody.replaceChildren(...runs.map(runRow));
  });
}

// startForm starts a run of a chosen workflow, with a form generated from
// the workflow's input schema.
function startForm(defs) {
  const wf = el('select', {id: 'start-workflow', 'aria-label': 'Workflow', required: true}, defs.map((d) => el('option', {value: d.name}, d.name)));
  const id = el('input', {id: 'start-id', placeholder: 'run ID', required: true});
  const box = el('div', {class: 'sf-box'});
  let form = null;
  const show = () => {
    const d = defs.find((x) => x.name === wf.value);
    form = schemaForm(d && d.input ? d.input.schema : {}, 'start-field');
    box.replaceChildren(form.node);
  };
  wf.addEventListener('change', show);
  show();
  const f = el('form', {class: 'panel', id: 'start-form'},
    el('h2', {}, 'Start a run'), el('div', {class: 'row'}, wf, id), box,
    el('button', {type: 'submit'}, 'Start'));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let input;
    try { input = form.value(); } catch (e) { showMessage(e.message); return; }
    try {
      const r = await api('/api/runs', {method: 'POST', body: {workflow: wf.value, id: id.value, input: input === undefined ? null : input}});
      location.hash = runHref(r.id);
    } catch (e) { showMessage(e.message); }
  });
  if (!defs.length) return '';
  return f;
}
