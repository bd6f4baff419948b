// The overview page (#/overview): runs started, completed and failed per
// minute, the oldest waiting run, timer lag, consumers' lag, and the
// workers with their leases and builds. It refreshes every 5 seconds.

import {view, el, fmtTime, fmtDuration, runHref, statusBadge, thead} from './dom.js';
import {api, showMessage, stopLive} from './api.js';
import {barChart} from './chart.js';

const SERIES = [
  {key: 'completed', name: 'completed', cls: 'ok'},
  {key: 'failed', name: 'failed', cls: 'bad'},
  {key: 'cancelled', name: 'cancelled', cls: 'warn'},
  {key: 'started', name: 'started', cls: 'accent'},
];

// minutes fills the minutes without activity in, so that the chart's time
// axis is even: the last 60 minutes up to the overview's time.
function minutes(o) {
  const by = new Map(o.activity.map((a) => [new Date(a.start).getTime(), a]));
  const end = Math.floor(new Date(o.time).getTime() / 60000) * 60000;
  const out = [];
  for (let t = end - 59 * 60000; t <= end; t += 60000) {
    const a = by.get(t) || {};
    const d = new Date(t);
    out.push({label: d.toLocaleTimeString(), short: d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}), values: a});
  }
  return out;
}

function totals(o) {
  const t = {started: 0, completed: 0, failed: 0, cancelled: 0};
  for (const a of o.activity) for (const k of Object.keys(t)) t[k] += a[k] || 0;
  return t;
}

function stat(id, label, value, cls) {
  return el('div', {class: 'stat ' + (cls || '')}, el('div', {class: 'stat-value', id}, value), el('div', {class: 'stat-label'}, label));
}

function render(o) {
  const t = totals(o);
  const w = o.oldest_waiting;
  const maxLag = Math.max(0, ...o.consumers.map((c) => c.lag));
  return [
    el('section', {class: 'panel'},
      el('h1', {}, 'Overview'),
      el('div', {class: 'stats'},
        stat('ov-started', 'runs started (1 h)', t.started),
        stat('ov-completed', 'completed', t.completed, 'ok'),
        stat('ov-failed', 'failed', t.failed, t.failed ? 'bad' : ''),
        stat('ov-timer-lag', 'timer lag', o.timer_lag_ms > 0 ? fmtDuration(o.timer_lag_ms) : 'none', o.timer_lag_ms > 5000 ? 'bad' : ''),
        stat('ov-due', 'runs due, unclaimed', o.due_runs),
        stat('ov-consumer-lag', 'max consumer lag', maxLag, maxLag > 0 ? 'warn' : '')),
      el('h2', {}, 'Runs per minute'),
      barChart(minutes(o), SERIES, {id: 'ov-chart'}),
      el('div', {class: 'legend'}, SERIES.map((s) => el('span', {class: 'key ' + s.cls}, s.name))),
      el('h2', {}, 'Oldest waiting run'),
      w ? el('p', {id: 'ov-oldest'}, el('a', {href: runHref(w.id)}, w.id), ' ', w.workflow, ' ', statusBadge(w.status),
        ' waiting since ', fmtTime(w.updated_at), w.wake_at ? ', wakes ' + fmtTime(w.wake_at) : '')
        : el('p', {id: 'ov-oldest', class: 'hint'}, 'No run waits.')),
    el('section', {class: 'panel'},
      el('h2', {}, el('a', {href: '#/consumers'}, 'Consumers')),
      el('table', {},
        thead(['Name', 'Kind', 'Lag', 'Oldest waiting', 'Parked']),
        el('tbody', {id: 'ov-consumers'}, o.consumers.length ? o.consumers.map((c) => el('tr', {'data-consumer': c.name},
          el('td', {}, c.name), el('td', {}, c.kind), el('td', {class: c.lag > 0 ? 'lagging' : ''}, String(c.lag)),
          el('td', {}, c.oldest_unprocessed_age_ms ? fmtDuration(c.oldest_unprocessed_age_ms) : ''), el('td', {}, String(c.parked))))
          : el('tr', {}, el('td', {colspan: 5, class: 'empty'}, 'No consumers.'))))),
    el('section', {class: 'panel'},
      el('h2', {}, 'Workers'),
      el('table', {},
        thead(['Worker', 'Build', 'Last seen', 'Run leases', 'Partition leases']),
        el('tbody', {id: 'ov-workers'}, o.workers.length ? o.workers.map((wk) => el('tr', {'data-worker': wk.id},
          el('td', {}, el('code', {}, wk.id)), el('td', {}, wk.build || ''), el('td', {}, fmtTime(wk.last_seen)),
          el('td', {}, String(wk.runs)), el('td', {}, String(wk.partitions))))
          : el('tr', {}, el('td', {colspan: 5, class: 'empty'}, 'No worker reports or holds leases.'))))),
  ];
}

export async function showOverview() {
  const signal = stopLive();
  view.replaceChildren(el('p', {class: 'hint'}, 'Loading…'));
  let timer = null;
  signal.addEventListener('abort', () => clearTimeout(timer));
  while (!signal.aborted) {
    try {
      const o = await api('/api/overview?window=60m');
      if (signal.aborted) return;
      view.replaceChildren(...render(o));
    } catch (e) { showMessage(e.message); }
    await new Promise((r) => { timer = setTimeout(r, 5000); });
  }
}
