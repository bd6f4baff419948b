// weft UI. Plain JavaScript, no dependencies. Every value that comes from the
// API is put in the page with textContent (through el()), never as HTML.
'use strict';

const STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled'];
const view = document.getElementById('view');
let live = null; // AbortController of the current page's live stream

// ---- DOM helpers -----------------------------------------------------------

// el builds an element; attrs are set with setAttribute (or as properties for
// on* handlers given as functions); children are nodes or text.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.replace(/^on/, ''), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function runHref(id) { return '#/runs/' + encodeURIComponent(id); }
function runAPI(id) { return '/api/runs/' + encodeURIComponent(id); }

function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

function fmtDuration(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return '';
  if (ms < 1) return (ms * 1000).toFixed(0) + ' µs';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.round((s % 86400) / 3600) + ' h';
}

function pretty(v) {
  if (v === undefined) return '';
  try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
}

function statusBadge(status, attrs) {
  return el('span', Object.assign({class: 'status status-' + (STATUSES.includes(status) ? status : 'unknown')}, attrs || {}), status);
}

// ---- messages and token ----------------------------------------------------

const message = document.getElementById('message');
function showMessage(text, kind) {
  message.textContent = text;
  message.className = 'message ' + (kind || 'error');
  message.hidden = false;
}
function clearMessage() { message.hidden = true; message.textContent = ''; }

function token() { return sessionStorage.getItem('weft-token') || ''; }
const tokenForm = document.getElementById('token-form');
document.getElementById('token-button').addEventListener('click', () => {
  tokenForm.hidden = !tokenForm.hidden;
  if (!tokenForm.hidden) document.getElementById('token-input').focus();
});
tokenForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('weft-token', document.getElementById('token-input').value.trim());
  tokenForm.hidden = true;
  clearMessage();
  route();
});

// ---- API -------------------------------------------------------------------

class Problem extends Error {
  constructor(p) {
    super((p.title || 'Error') + (p.detail ? ': ' + p.detail : ''));
    this.problem = p;
  }
}

function headers(extra) {
  const h = Object.assign({'Accept': 'application/json'}, extra || {});
  if (token()) h['Authorization'] = 'Bearer ' + token();
  return h;
}

async function problemOf(res) {
  let p = {title: res.status + ' ' + res.statusText, status: res.status};
  try { p = await res.json(); } catch (e) { /* not JSON */ }
  if (res.status === 401) {
    // Every route needs the token once the server has one: ask for it.
    tokenForm.hidden = false;
    document.getElementById('token-input').focus();
  }
  return new Problem(p);
}

async function api(path, opts) {
  const o = opts || {};
  const method = o.method || 'GET';
  // The API refuses a change without this header, even one without a body:
  // a cross-site form or no-cors fetch cannot send it.
  const init = {method, headers: headers(method !== 'GET' ? {'Content-Type': 'application/json'} : {})};
  if (o.body !== undefined) init.body = JSON.stringify(o.body);
  const res = await fetch(path, init);
  if (!res.ok) throw await problemOf(res);
  return res.json();
}

// stream reads Server-Sent Events from path with fetch (so that the token
// header can be sent), calling onEvent(type, data, id), and reconnects with
// Last-Event-ID until signal aborts.
async function stream(path, onEvent, signal) {
  const dot = document.getElementById('live');
  let lastID = '';
  while (!signal.aborted) {
    try {
      const h = headers({'Accept': 'text/event-stream'});
      if (lastID) h['Last-Event-ID'] = lastID;
      const res = await fetch(path, {headers: h, signal});
      if (!res.ok) {
        const p = await problemOf(res);
        showMessage('Live updates: ' + p.message);
        // Too many streams open (429, 503): wait as told, then try again.
        const wait = parseInt(res.headers.get('Retry-After') || '', 10);
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait * 1000));
          continue;
        }
        if (res.status >= 400 && res.status < 500) return;
      } else {
        dot.classList.add('on');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = 'message', data = '', id = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
              else if (line.startsWith('id: ')) id = line.slice(4);
            }
            if (id) lastID = id;
            if (data) {
              try { onEvent(type, JSON.parse(data), id); } catch (e) { console.error(e); }
            }
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    dot.classList.remove('on');
    await new Promise((r) => setTimeout(r, 1500));
  }
}

function startLive(path, onEvent) {
  if (live) live.abort();
  live = new AbortController();
  stream(path, onEvent, live.signal);
}

// ---- runs list -------------------------------------------------------------

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

async function showRuns(params) {
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

// ---- one run ---------------------------------------------------------------

const runState = {id: '', run: null, journal: [], sources: {}, file: ''};

// The kinds of journal entries, for the timeline.
const KIND = {
  StepCompleted: 'step', StepAttemptFailed: 'step', StepFailed: 'step',
  Recorded: 'record', TimerScheduled: 'sleep', TimerFired: 'sleep',
  AwaitStarted: 'await', SignalReceived: 'await', AwaitTimedOut: 'await',
  ChildStarted: 'child', ChildCompleted: 'child', CancelObserved: 'cancel',
};
const DONE = new Set(['StepCompleted', 'Recorded', 'TimerFired', 'SignalReceived', 'ChildCompleted', 'AwaitTimedOut']);
const FAILED = new Set(['StepFailed']);

// operations groups the journal by operation (seq) for the timeline.
function operations(journal) {
  const ops = new Map();
  const out = [];
  for (const e of journal) {
    if (!KIND[e.type]) continue;
    let op = ops.get(e.seq);
    if (!op) {
      op = {seq: e.seq, kind: KIND[e.type], name: e.name, source: e.source, file: e.file, line: e.line, entries: [], start: e.time};
      ops.set(e.seq, op);
      out.push(op);
    }
    op.entries.push(e);
    op.end = e.time;
    op.last = e;
  }
  return out;
}

function opState(op, run) {
  const t = op.last.type;
  if (DONE.has(t)) return 'done';
  if (FAILED.has(t)) return 'failed';
  if (t === 'CancelObserved') return 'cancelled';
  return run.status === 'waiting' ? 'waiting' : 'pending';
}

function opDetail(op) {
  const parts = [];
  const attempts = op.entries.filter((e) => e.attempt).length;
  if (op.kind === 'step') {
    const ran = op.entries.reduce((s, e) => s + (e.duration_ns || 0), 0) / 1e6;
    parts.push(attempts + ' attempt' + (attempts === 1 ? '' : 's') + ', ran ' + fmtDuration(ran));
    for (const e of op.entries) if (e.error) parts.push('attempt ' + e.attempt + ': ' + e.error);
  }
  for (const e of op.entries) {
    if (e.until && (e.type === 'TimerScheduled' || e.type === 'AwaitStarted')) parts.push('until ' + fmtTime(e.until));
    if (e.child) parts.push('child ' + e.child);
    if (e.type === 'SignalReceived' || e.type === 'Recorded' || e.type === 'StepCompleted') {
      if (e.result !== undefined) parts.push('→ ' + JSON.stringify(e.result));
    }
    if (e.type === 'AwaitTimedOut') parts.push('timed out');
    if (e.type === 'StepFailed' && e.error) parts.push('failed: ' + e.error);
  }
  return parts.join(' · ');
}

function renderTimeline(run, journal) {
  const rows = [];
  const started = journal.find((e) => e.type === 'Started');
  if (started) rows.push(el('tr', {class: 'op-done'}, el('td', {}, ''), el('td', {}, 'start'), el('td', {}, run.workflow), el('td', {}, fmtTime(started.time)), el('td', {}, ''), el('td', {}, '')));
  for (const op of operations(journal)) {
    const state = opState(op, run);
    const end = state === 'waiting' || state === 'pending' ? Date.now() : new Date(op.end).getTime();
    const took = end - new Date(op.start).getTime();
    rows.push(el('tr', {class: 'op-' + state, 'data-seq': op.seq},
      el('td', {}, String(op.seq)),
      el('td', {}, op.kind),
      el('td', {}, op.name || ''),
      el('td', {}, fmtTime(op.start)),
      el('td', {}, fmtDuration(took) + (state === 'waiting' ? ' so far' : '')),
      el('td', {}, el('span', {class: 'state state-' + state}, state), ' ', opDetail(op))));
  }
  const end = journal.find((e) => e.type === 'Completed' || e.type === 'Failed' || e.type === 'Cancelled');
  if (end && started) {
    rows.push(el('tr', {class: 'op-' + (end.type === 'Completed' ? 'done' : 'failed')},
      el('td', {}, ''), el('td', {}, 'end'), el('td', {}, end.type.toLowerCase()), el('td', {}, fmtTime(end.time)),
      el('td', {}, fmtDuration(new Date(end.time) - new Date(started.time)) + ' in all'), el('td', {}, end.error || '')));
  }
  return el('table', {class: 'timeline', id: 'timeline'},
    el('thead', {}, el('tr', {}, ['#', 'Kind', 'Name', 'Started', 'Took', 'State'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

function sourceFiles(journal) {
  const files = [];
  for (const e of journal) if (e.file && !files.includes(e.file)) files.push(e.file);
  return files;
}

async function renderSource(box, run, journal) {
  const files = sourceFiles(journal);
  if (!files.length) { box.replaceChildren(el('p', {class: 'hint'}, 'No source locations in the journal yet.')); return; }
  const w = run.waiting;
  if (!runState.file || !files.includes(runState.file)) {
    const last = [...journal].reverse().find((e) => e.file);
    runState.file = (w && w.file) || (last && last.file) || files[0];
  }
  const file = runState.file;
  const tabs = el('div', {class: 'tabs'}, files.map((f) => el('button', {
    type: 'button', class: f === file ? 'tab on' : 'tab',
    onclick: () => { runState.file = f; renderSource(box, runState.run, runState.journal); },
  }, f.split('/').pop())));
  let src = runState.sources[file];
  if (src === undefined) {
    try { src = await api(runAPI(run.id) + '/source?file=' + encodeURIComponent(file)); } catch (e) { src = null; }
    runState.sources[file] = src;
  }
  const done = new Set(), failed = new Set();
  for (const e of journal) {
    if (e.file !== file || !e.line) continue;
    if (DONE.has(e.type)) done.add(e.line);
    if (FAILED.has(e.type)) failed.add(e.line);
  }
  const waitLine = w && w.file === file ? w.line : 0;
  const caption = el('p', {class: 'src-caption'},
    el('code', {}, src ? src.name : file),
    waitLine ? el('span', {class: 'hint'}, ' — waiting at line ' + waitLine + ' (' + w.type + (w.name ? ' ' + w.name : '') + ')') : '');
  if (!src) {
    const locs = [...new Set(journal.filter((e) => e.file === file).map((e) => e.line))];
    box.replaceChildren(tabs, caption, el('p', {class: 'hint', id: 'source-missing'},
      'The source is not available on this server. Lines: ', locs.map((l) => file + ':' + l).join(', ')));
    return;
  }
  const lines = src.lines.map((text, i) => {
    const n = i + 1;
    let cls = 'line';
    if (done.has(n)) cls += ' done';
    if (failed.has(n)) cls += ' failed';
    if (n === waitLine) cls += ' waiting';
    return el('div', {class: cls, 'data-line': n}, el('span', {class: 'ln'}, String(n)), el('span', {class: 'code'}, text || ' '));
  });
  const pre = el('div', {class: 'src', id: 'source'}, lines);
  box.replaceChildren(tabs, caption, pre);
  const dones = pre.querySelectorAll('.line.done');
  const target = pre.querySelector('.line.waiting') || dones[dones.length - 1];
  if (target) pre.scrollTop = Math.max(0, target.offsetTop - pre.clientHeight / 3);
}

function renderRun(run, journal) {
  const statusEl = statusBadge(run.status, {id: 'run-status', 'data-status': run.status});
  const facts = el('dl', {class: 'facts'},
    el('dt', {}, 'Workflow'), el('dd', {id: 'run-workflow'}, run.workflow),
    run.parent ? [el('dt', {}, 'Parent'), el('dd', {}, el('a', {href: runHref(run.parent)}, run.parent))] : [],
    el('dt', {}, 'Created'), el('dd', {}, fmtTime(run.created_at)),
    el('dt', {}, 'Updated'), el('dd', {}, fmtTime(run.updated_at)),
    run.wake_at ? [el('dt', {}, 'Wakes'), el('dd', {}, fmtTime(run.wake_at))] : [],
    run.cancel_requested ? [el('dt', {}, 'Cancel'), el('dd', {}, 'requested')] : [],
    run.waiting ? [el('dt', {}, 'Waiting on'), el('dd', {id: 'run-waiting'}, run.waiting.type + (run.waiting.name ? ' ' + run.waiting.name : '') +
      (run.waiting.until ? ' until ' + fmtTime(run.waiting.until) : '') + (run.waiting.source ? ' at ' + run.waiting.source : ''))] : []);
  const io = el('div', {class: 'io'},
    el('div', {}, el('h3', {}, 'Input'), el('pre', {id: 'run-input'}, pretty(run.input))),
    run.result !== undefined ? el('div', {}, el('h3', {}, 'Result'), el('pre', {id: 'run-result'}, pretty(run.result))) : '',
    run.error ? el('div', {}, el('h3', {}, 'Error'), el('pre', {id: 'run-error', class: 'err'}, (run.error.type ? run.error.type + ': ' : '') + run.error.message)) : '');
  const sourceBox = el('div', {id: 'source-box'});
  const ended = ['completed', 'failed', 'cancelled'].includes(run.status);
  const header = el('section', {class: 'panel'},
    el('h1', {}, 'Run ', el('code', {id: 'run-id'}, run.id), ' ', statusEl),
    facts, io, ended ? '' : actionsFor(run));
  view.replaceChildren(header,
    el('section', {class: 'panel'}, el('h2', {}, 'Source'), sourceBox),
    el('section', {class: 'panel'}, el('h2', {}, 'Timeline'), renderTimeline(run, journal)));
  renderSource(sourceBox, run, journal);
}

// actionsFor returns the signal and cancel controls of the run, made once
// per run so that live re-renders keep what the user is typing and focus.
function actionsFor(run) {
  if (!runState.actions) runState.actions = actions(run);
  return runState.actions;
}

function actions(run) {
  const name = el('input', {id: 'signal-name', placeholder: 'signal name', required: true, value: runState.signalName || ''});
  const payload = el('textarea', {id: 'signal-payload', rows: 3, placeholder: 'payload (JSON)'}, runState.signalPayload || '');
  name.addEventListener('input', () => { runState.signalName = name.value; });
  payload.addEventListener('input', () => { runState.signalPayload = payload.value; });
  const form = el('form', {id: 'signal-form', class: 'actions'},
    el('h3', {}, 'Send a signal'), el('div', {class: 'row'}, name), payload,
    el('button', {type: 'submit', id: 'signal-send'}, 'Send signal'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body = null;
    if (payload.value.trim()) {
      try { body = JSON.parse(payload.value); } catch (e) { showMessage('The payload is not valid JSON: ' + e.message); return; }
    }
    try {
      await api(runAPI(run.id) + '/signals', {method: 'POST', body: {name: name.value, payload: body}});
      showMessage('Signal ' + JSON.stringify(name.value) + ' sent.', 'ok');
      runState.signalName = runState.signalPayload = '';
    } catch (e) { showMessage(e.message); }
  });
  const cancel = el('button', {type: 'button', id: 'cancel-run', class: 'danger'}, 'Cancel run');
  cancel.addEventListener('click', async () => {
    if (cancel.dataset.armed !== 'yes') { cancel.dataset.armed = 'yes'; cancel.textContent = 'Click again to cancel'; return; }
    try {
      await api(runAPI(run.id) + '/cancel', {method: 'POST'});
      showMessage('Cancellation requested.', 'ok');
    } catch (e) { showMessage(e.message); }
  });
  return el('div', {class: 'action-box'}, form, el('div', {class: 'actions'}, el('h3', {}, 'Cancel'), cancel));
}

async function refreshRun() {
  const id = runState.id;
  const [run, journal] = await Promise.all([api(runAPI(id)), api(runAPI(id) + '/journal')]);
  if (id !== runState.id) return;
  runState.run = run;
  runState.journal = journal.entries;
  renderRun(run, journal.entries);
}

async function showRun(id) {
  Object.assign(runState, {actions: null});
  if (runState.id !== id) Object.assign(runState, {id, run: null, journal: [], sources: {}, file: '', signalName: '', signalPayload: ''});
  view.replaceChildren(el('p', {class: 'hint'}, 'Loading…'));
  try { await refreshRun(); } catch (e) { view.replaceChildren(el('p', {class: 'hint'}, e.message)); return; }
  let busy = false, again = false;
  startLive('/api/live/runs?run=' + encodeURIComponent(id), async (type, r) => {
    if (type !== 'run') return;
    const cur = runState.run;
    if (cur && cur.id === r.id && cur.version === r.version && cur.status === r.status &&
        cur.updated_at === r.updated_at && !!cur.cancel_requested === !!r.cancel_requested) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      do { again = false; await refreshRun(); } while (again);
    } catch (e) { showMessage(e.message); } finally { busy = false; }
  });
}

// ---- entities --------------------------------------------------------------

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

function showEntities() {
  if (live) live.abort();
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

async function showEntity(type, id) {
  if (live) live.abort();
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

// ---- consumers -------------------------------------------------------------

function fmtAge(ms) { return ms > 0 ? fmtDuration(ms) : ''; }

function consumerRow(c) {
  return el('tr', {'data-consumer': c.name},
    el('td', {}, c.name), el('td', {}, c.kind),
    el('td', {}, String(c.position)), el('td', {}, String(c.head)),
    el('td', {class: c.lag > 0 ? 'lagging' : ''}, String(c.lag)),
    el('td', {}, fmtAge(c.oldest_unprocessed_age_ms)),
    el('td', {}, String(c.parked)),
    el('td', {}, runBy(c.partitions || [])),
    el('td', {class: c.stop_error ? 'err' : ''}, c.stop_error || ''));
}

// runBy sums up which workers run a consumer's partitions, with each
// partition's checkpoint in the tooltip.
function runBy(parts) {
  const counts = new Map();
  for (const p of parts) counts.set(p.owner || '–', (counts.get(p.owner || '–') || 0) + 1);
  const text = parts.length === 1 ? (parts[0].owner || '–')
    : parts.length + ': ' + [...counts].sort().map(([o, n]) => o + ' ×' + n).join(', ');
  const title = parts.map((p) => '#' + p.partition + ' at ' + p.position + (p.owner ? ' on ' + p.owner : '')).join('\n');
  return el('span', {title}, text);
}

function parkedRow(p, refresh) {
  const retry = el('button', {type: 'button', class: 'retry'}, 'Retry');
  retry.addEventListener('click', async () => {
    retry.disabled = true;
    try {
      await api('/api/consumers/' + encodeURIComponent(p.consumer) + '/parked/' + p.position + '/retry', {method: 'POST'});
      showMessage('Event ' + p.position + ' handled by ' + p.consumer + '; it is no longer parked.', 'ok');
    } catch (e) { showMessage(e.message); }
    refresh();
  });
  return el('tr', {'data-parked': p.consumer + '@' + p.position},
    el('td', {}, p.consumer), el('td', {}, String(p.position)), el('td', {}, p.stream), el('td', {}, p.type),
    el('td', {}, String(p.attempts)), el('td', {}, fmtTime(p.parked_at)), el('td', {class: 'err'}, p.error), el('td', {}, retry));
}

async function showConsumers() {
  const cbody = el('tbody', {id: 'consumers-body'});
  const pbody = el('tbody', {id: 'parked-body'});
  view.replaceChildren(
    el('section', {class: 'panel'},
      el('h1', {}, 'Consumers'),
      el('p', {class: 'hint'}, 'Consumers and projections read the log in order; lag is the head minus the checkpoint while an event waits for them.'),
      el('table', {class: 'consumers'},
        el('thead', {}, el('tr', {}, ['Name', 'Kind', 'Position', 'Head', 'Lag', 'Oldest waiting', 'Parked', 'Run by', 'Stopped'].map((h) => el('th', {}, h)))),
        cbody)),
    el('section', {class: 'panel'},
      el('h2', {}, 'Parked events'),
      el('table', {class: 'parked'},
        el('thead', {}, el('tr', {}, ['Consumer', 'Position', 'Stream', 'Type', 'Attempts', 'Parked', 'Error', ''].map((h) => el('th', {}, h)))),
        pbody)));
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const [cs, ps] = await Promise.all([api('/api/consumers'), api('/api/parked')]);
      if (!document.body.contains(cbody)) return;
      cbody.replaceChildren(...cs.consumers.map(consumerRow));
      if (!cs.consumers.length) cbody.append(el('tr', {}, el('td', {colspan: 8, class: 'empty'}, 'No consumers in this store yet.')));
      pbody.replaceChildren(...ps.parked.map((p) => parkedRow(p, refresh)));
      if (!ps.parked.length) pbody.append(el('tr', {}, el('td', {colspan: 8, class: 'empty'}, 'No parked events.')));
    } catch (e) { showMessage(e.message); } finally { busy = false; }
  };
  // Checkpoints move with every handled event: poll every second while the
  // page is open (the abort of the next page's live stream stops it).
  if (live) live.abort();
  live = new AbortController();
  let timer = null;
  await refresh();
  const signal = live.signal;
  (async () => {
    while (!signal.aborted) {
      await new Promise((r) => { timer = setTimeout(r, 1000); });
      if (!signal.aborted && document.body.contains(cbody)) await refresh();
    }
  })();
  signal.addEventListener('abort', () => clearTimeout(timer));
}

// ---- routing ---------------------------------------------------------------

function route() {
  const h = location.hash || '#/';
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('on', a.getAttribute('href') === h || Boolean(a.dataset.prefix && h.startsWith(a.dataset.prefix)));
  if (h === '#/consumers') { showConsumers(); return; }
  if (h === '#/entities') { showEntities(); return; }
  if (h.startsWith('#/entities/')) {
    const parts = h.slice('#/entities/'.length).split('/');
    if (parts.length === 2) {
      let type, id;
      try { type = decodeURIComponent(parts[0]); id = decodeURIComponent(parts[1]); } catch (e) { showEntities(); return; }
      showEntity(type, id);
      return;
    }
    showEntities();
    return;
  }
  if (h.startsWith('#/runs/')) {
    let id;
    try { id = decodeURIComponent(h.slice('#/runs/'.length)); } catch (e) { id = h.slice(7); }
    showRun(id);
    return;
  }
  const q = h.indexOf('?');
  showRuns(new URLSearchParams(q >= 0 ? h.slice(q + 1) : ''));
}

window.addEventListener('hashchange', () => { clearMessage(); route(); });
route();
