// The page of one run (#/runs/ID): its facts, input and result, the
// workflow's source with the lines the journal touched, the timeline of its
// operations, and its actions.

import {view, el, runHref, runAPI, fmtTime, fmtDuration, pretty, statusBadge} from './dom.js';
import {api, showMessage, startLive} from './api.js';

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

export async function showRun(id) {
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
