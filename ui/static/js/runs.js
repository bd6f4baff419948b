// The runs list page (#/ and #/?filters) and the form that starts a run.

import {STATUSES, view, el, runHref, runAPI, fmtTime, statusBadge} from './dom.js';
import {api, showMessage, startLive} from './api.js';

const listState = {status: '', workflow: '', search: '', runs: [], cursor: '', head: 0};

function runRow(r) {
  return el('tr', {'data-run': r.id},
    el('td', {}, el('a', {href: runHref(r.id), class: 'run-link'}, r.id)),
    el('td', {}, r.workflow),
    el('td', {}, statusBadge(r.status)),
    el('td', {}, fmtTime(r.created_at)),
    el('td', {}, fmtTime(r.updated_at)));
}

function matchesSearch(r) {
  const q = listState.search.toLowerCase();
  return !q || r.id.toLowerCase().includes(q) || r.workflow.toLowerCase().includes(q);
}

function renderRunRows(tbody) {
  tbody.replaceChildren(...listState.runs.filter(matchesSearch).map(runRow));
  if (!tbody.children.length) {
    tbody.append(el('tr', {}, el('td', {colspan: 5, class: 'empty'}, listState.search ? 'No run on this page matches the search.' : 'No runs.')));
  }
}

export async function showRuns(params) {
  listState.status = params.get('status') || '';
  listState.workflow = params.get('workflow') || '';
  listState.search = params.get('q') || '';
  const tbody = el('tbody', {id: 'runs-body'});
  const more = el('button', {type: 'button', id: 'more', hidden: true}, 'Load more');
  const statusSel = el('select', {id: 'filter-status', 'aria-label': 'Status'},
    el('option', {value: ''}, 'all statuses'),
    STATUSES.map((s) => el('option', {value: s, selected: s === listState.status}, s)));
  const wfSel = el('select', {id: 'filter-workflow', 'aria-label': 'Workflow'}, el('option', {value: ''}, 'all workflows'));
  const search = el('input', {id: 'search', type: 'search', placeholder: 'Search by run ID or workflow; Enter opens an exact ID', value: listState.search});
  const setParams = () => {
    const p = new URLSearchParams();
    if (statusSel.value) p.set('status', statusSel.value);
    if (wfSel.value) p.set('workflow', wfSel.value);
    if (search.value) p.set('q', search.value);
    const s = p.toString();
    location.hash = '#/' + (s ? '?' + s : '');
  };
  statusSel.addEventListener('change', setParams);
  wfSel.addEventListener('change', setParams);
  search.addEventListener('input', () => { listState.search = search.value; renderRunRows(tbody); });
  search.addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter' || !search.value) return;
    try { await api(runAPI(search.value)); location.hash = runHref(search.value); } catch (e) { setParams(); }
  });

  view.replaceChildren(
    el('section', {class: 'panel'},
      el('h1', {}, 'Runs'),
      el('div', {class: 'filters'}, statusSel, wfSel, search),
      el('table', {class: 'runs'},
        el('thead', {}, el('tr', {}, ['ID', 'Workflow', 'Status', 'Created', 'Updated'].map((h) => el('th', {}, h)))),
        tbody),
      more),
    startForm());

  api('/api/workflows').then((r) => {
    for (const w of r.workflows) wfSel.append(el('option', {value: w, selected: w === listState.workflow}, w));
  }).catch(() => {});

  const query = (cursor) => {
    const p = new URLSearchParams({limit: '50'});
    if (listState.status) p.set('status', listState.status);
    if (listState.workflow) p.set('workflow', listState.workflow);
    if (cursor) p.set('cursor', cursor);
    return '/api/runs?' + p;
  };
  const load = async (cursor) => {
    const page = await api(query(cursor));
    if (!cursor) { listState.runs = []; listState.head = page.head_position; }
    listState.runs.push(...page.runs);
    listState.cursor = page.next_cursor || '';
    more.hidden = !listState.cursor;
    renderRunRows(tbody);
  };
  more.addEventListener('click', () => load(listState.cursor).catch((e) => showMessage(e.message)));
  try { await load(''); } catch (e) { showMessage(e.message); return; }

  const lp = new URLSearchParams({after: String(listState.head)});
  if (listState.workflow) lp.set('workflow', listState.workflow);
  startLive('/api/live/runs?' + lp, (type, r) => {
    if (type !== 'run') return;
    const i = listState.runs.findIndex((x) => x.id === r.id);
    const keep = !listState.status || r.status === listState.status;
    if (i >= 0) { if (keep) listState.runs[i] = r; else listState.runs.splice(i, 1); }
    else if (keep) listState.runs.unshift(r);
    renderRunRows(tbody);
  });
}

function startForm() {
  const wf = el('input', {id: 'start-workflow', placeholder: 'workflow', required: true});
  const id = el('input', {id: 'start-id', placeholder: 'run ID', required: true});
  const input = el('textarea', {id: 'start-input', rows: 3, placeholder: 'input (JSON)'}, '{}');
  const form = el('form', {class: 'panel', id: 'start-form'},
    el('h2', {}, 'Start a run'),
    el('div', {class: 'row'}, wf, id),
    input,
    el('button', {type: 'submit'}, 'Start'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try { body = input.value.trim() ? JSON.parse(input.value) : null; } catch (e) { showMessage('The input is not valid JSON: ' + e.message); return; }
    try {
      const r = await api('/api/runs', {method: 'POST', body: {workflow: wf.value, id: id.value, input: body}});
      clearMessage();
      location.hash = runHref(r.id);
    } catch (e) { showMessage(e.message); }
  });
  return form;
}
