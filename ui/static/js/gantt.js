// The timeline of a run's page: a Gantt chart of its operations (steps
// with each attempt, timers, awaits of signals, child runs, records) on the
// run's own time axis, with real start and end times and durations.

import {el, fmtDuration, fmtTime} from './dom.js';

// KIND maps journal entry types to the operation kinds of the chart.
export const KIND = {
  StepCompleted: 'step', StepAttemptFailed: 'step', StepFailed: 'step',
  Recorded: 'record', TimerScheduled: 'sleep', TimerFired: 'sleep',
  AwaitStarted: 'await', SignalReceived: 'await', AwaitTimedOut: 'await',
  ChildStarted: 'child', ChildCompleted: 'child', CancelObserved: 'cancel',
  PatchMarked: 'patch',
};
export const DONE = new Set(['StepCompleted', 'Recorded', 'TimerFired', 'SignalReceived', 'ChildCompleted', 'AwaitTimedOut', 'PatchMarked']);
export const FAILED = new Set(['StepFailed', 'StepAttemptFailed']);

const ms = (t) => (t ? new Date(t).getTime() : NaN);

// attemptSpan is when a step attempt ran: from its recorded start (or, in
// older journals, its entry's time minus its duration) for its duration.
function attemptSpan(e) {
  const d = (e.duration_ns || 0) / 1e6;
  const start = e.started ? ms(e.started) : ms(e.time) - d;
  return {start, end: start + d, failed: FAILED.has(e.type), attempt: e.attempt};
}

// operations groups the journal by operation (seq), with each operation's
// start and end (NaN end: still going) and, for steps, its attempts.
export function operations(journal, live) {
  const ops = new Map();
  const out = [];
  for (const e of journal) {
    const kind = KIND[e.type];
    if (!kind) continue;
    let op = ops.get(e.seq);
    if (!op) {
      op = {seq: e.seq, kind, name: e.name, entries: [], attempts: [], start: ms(e.time), end: NaN};
      ops.set(e.seq, op);
      out.push(op);
    }
    op.entries.push(e);
    op.last = e;
    if (kind === 'step') {
      const a = attemptSpan(e);
      op.attempts.push(a);
      op.start = Math.min(...op.attempts.map((x) => x.start));
      op.end = a.end;
    } else if (DONE.has(e.type) || e.type === 'CancelObserved' || kind === 'record') {
      op.end = ms(e.time);
    }
  }
  for (const op of out) {
    op.state = DONE.has(op.last.type) ? 'done' : op.last.type === 'StepFailed' ? 'failed'
      : op.last.type === 'CancelObserved' ? 'cancelled' : live ? 'waiting' : 'stopped';
  }
  return out;
}

// gantt renders the chart; onPick(entry) is called when a row is chosen.
export function gantt(run, journal, live, onPick) {
  const ops = operations(journal, live);
  const first = journal.find((e) => e.type === 'Started') || journal[0];
  const endEntry = journal.find((e) => ['Completed', 'Failed', 'Cancelled', 'Terminated', 'ContinuedAsNew'].includes(e.type));
  const t0 = first ? ms(first.time) : Date.now();
  let t1 = endEntry ? ms(endEntry.time) : Date.now();
  for (const op of ops) t1 = Math.max(t1, Number.isNaN(op.end) ? Date.now() : op.end);
  const span = Math.max(t1 - t0, 1);
  const pct = (t) => (Math.min(Math.max((t - t0) / span, 0), 1) * 100).toFixed(3) + '%';
  const bar = (start, end, cls, title) => el('span', {
    class: 'g-bar ' + cls, title,
    style: `left:${pct(start)};width:max(2px, calc(${pct(end)} - ${pct(start)}))`,
  });
  const rows = ops.map((op) => {
    const end = Number.isNaN(op.end) ? t1 : op.end;
    const bars = op.attempts.length
      ? op.attempts.map((a) => bar(a.start, a.end, a.failed ? 'g-failed' : 'g-done',
        'attempt ' + a.attempt + ': ' + fmtDuration(a.end - a.start) + (a.failed ? ' (failed)' : '')))
      : [bar(op.start, end, 'g-' + op.state, fmtTime(new Date(op.start).toISOString()) + ' → ' + (Number.isNaN(op.end) ? 'now' : fmtTime(new Date(op.end).toISOString())))];
    const took = end - op.start;
    const tries = op.attempts.length > 1 ? ' · ' + op.attempts.length + ' attempts' : '';
    const row = el('div', {class: 'g-row g-' + op.state, 'data-seq': op.seq, tabindex: 0, role: 'button',
      'aria-label': op.kind + ' ' + (op.name || '') + ', ' + fmtDuration(took)},
    el('span', {class: 'g-label'}, el('span', {class: 'g-kind'}, op.kind), ' ', op.name || ''),
    el('span', {class: 'g-track'}, bars),
    el('span', {class: 'g-took'}, op.kind === 'record' ? 'instant' : fmtDuration(took) + (op.state === 'waiting' ? ' so far' : '') + tries));
    const pick = () => onPick(op.last);
    row.addEventListener('click', pick);
    row.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); pick(); } });
    return row;
  });
  const axis = el('div', {class: 'g-row g-axis'}, el('span', {class: 'g-label'}, ''),
    el('span', {class: 'g-track'}, el('span', {class: 'g-tick', style: 'left:0'}, fmtTime(new Date(t0).toISOString())),
      el('span', {class: 'g-tick g-tick-end'}, (endEntry ? '' : 'now · ') + fmtDuration(span) + ' in all')),
    el('span', {class: 'g-took'}, ''));
  if (!rows.length) rows.push(el('p', {class: 'hint'}, 'No operations yet.'));
  return el('div', {class: 'gantt', id: 'gantt'}, axis, rows);
}
