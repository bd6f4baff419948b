// The consumers page (#/consumers): each consumer's and projection's
// checkpoint, lag over time (a chart of the samples the store keeps),
// throughput, partitions' owners and, for projections, their tables' row
// counts; the parked events with their error and payload. An admin token
// also gets the actions: reset a checkpoint, rebuild a projection, retry
// or skip a parked event, each confirmed first.

import {view, el, fmtTime, fmtDuration, pretty, thead, pagePanel} from './dom.js';
import {api, poll, serial, showMessage, whoami} from './api.js';
import {lineChart} from './chart.js';
import {ask} from './dialog.js';

function fmtAge(ms) { return ms > 0 ? fmtDuration(ms) : ''; }
function consumerAPI(name) { return '/api/consumers/' + encodeURIComponent(name); }

// throughput is the checkpoint's advance in log positions per second over
// the last five minutes of samples, or between the last two when they are
// further apart (the workers sample about once a minute; positions include
// events the consumer's filters skip).
function throughput(samples) {
  if (!samples || samples.length < 2) return '';
  const last = samples[samples.length - 1];
  const t1 = new Date(last.time).getTime();
  let first = samples[samples.length - 2];
  for (const s of samples) if (s !== last && t1 - new Date(s.time).getTime() <= 300000) { first = s; break; }
  const dt = (t1 - new Date(first.time).getTime()) / 1000;
  if (dt <= 0) return '';
  return ((last.position - first.position) / dt).toFixed(1) + '/s';
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

// act runs an admin action once the dialog confirms it (with the input
// the dialog asks for, turned into the body), then refreshes.
async function act(title, what, input, path, body, refresh) {
  const v = await ask(title, what, input);
  if (v === null) return;
  try {
    await api(path, {method: 'POST', body: body(v)});
    showMessage(title + ': done.', 'ok');
  } catch (e) { showMessage(e.message); }
  refresh();
}

function consumerRow(c, samples, admin, refresh) {
  const actions = [];
  if (admin) {
    actions.push(el('button', {type: 'button', class: 'reset', onclick: () => act('Reset ' + c.name,
      'Move the checkpoint to a log position (0: the start of the log); it goes on after it. Now at ' + c.position + ', head ' + c.head + '.',
      {type: 'number', min: 0, step: 1, required: true, value: c.head, 'aria-label': 'position'},
      consumerAPI(c.name) + '/reset', (v) => ({position: Number(v)}), refresh)}, 'Reset'));
    if (c.kind === 'projection') {
      actions.push(el('button', {type: 'button', class: 'rebuild', onclick: () => act('Rebuild ' + c.name,
        'Empty the projection\'s view and replay the log from the start.', null,
        consumerAPI(c.name) + '/rebuild', () => undefined, refresh)}, 'Rebuild'));
    }
  }
  const pts = (samples || []).map((s) => ({t: new Date(s.time).getTime(), v: s.lag}));
  return el('tr', {'data-consumer': c.name},
    el('td', {}, c.name), el('td', {}, c.kind),
    el('td', {}, String(c.position)),
    el('td', {class: c.lag > 0 ? 'lagging' : ''}, String(c.lag)),
    el('td', {}, lineChart(pts, {id: 'lag-' + c.name})),
    el('td', {class: 'throughput'}, throughput(samples)),
    el('td', {}, fmtAge(c.oldest_unprocessed_age_ms)),
    el('td', {}, String(c.parked)),
    el('td', {}, runBy(c.partitions || [])),
    el('td', {class: 'tables'}, (c.tables || []).map((t) => el('div', {'data-table': t.table}, t.table + ': ' + t.rows + ' rows'))),
    el('td', {class: c.stop_error ? 'err' : ''}, c.paused ? 'paused ' : '', c.stop_error || ''),
    el('td', {class: 'actions'}, actions));
}

// payload fetches the data of the event at position.
async function payload(pos) {
  const r = await api('/api/events?after=' + (pos - 1) + '&before=' + (pos + 1) + '&limit=1');
  return r.events.length ? r.events[0].data : undefined;
}

function parkedRow(p, admin, refresh) {
  const data = el('pre', {class: 'payload'}, '…');
  payload(p.position).then((d) => { data.textContent = d === undefined ? '(none)' : pretty(d); }).catch(() => { data.textContent = ''; });
  const actions = [];
  if (admin) {
    actions.push(el('button', {type: 'button', class: 'retry', onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await api(consumerAPI(p.consumer) + '/parked/' + p.position + '/retry', {method: 'POST'});
        showMessage('Event ' + p.position + ' handled by ' + p.consumer + '; it is no longer parked.', 'ok');
      } catch (e) { showMessage(e.message); }
      refresh();
    }}, 'Retry'));
    actions.push(el('button', {type: 'button', class: 'skip', onclick: () => act('Skip event ' + p.position,
      'Give up on the event for ' + p.consumer + ' without handling it; it is kept in the parked history with the reason.',
      {required: true, placeholder: 'reason (required)', 'aria-label': 'reason'},
      consumerAPI(p.consumer) + '/parked/' + p.position + '/skip', (v) => ({reason: v}), refresh)}, 'Skip'));
  }
  return el('tr', {'data-parked': p.consumer + '@' + p.position},
    el('td', {}, p.consumer), el('td', {}, el('a', {href: '#/events?after=' + (p.position - 1) + '&before=' + (p.position + 1)}, String(p.position))),
    el('td', {}, p.stream), el('td', {}, p.type),
    el('td', {}, String(p.attempts)), el('td', {}, fmtTime(p.parked_at)), el('td', {class: 'err'}, p.error),
    el('td', {}, el('details', {}, el('summary', {}, 'payload'), data)), el('td', {class: 'actions'}, actions));
}

export async function showConsumers() {
  const cbody = el('tbody', {id: 'consumers-body'});
  const pbody = el('tbody', {id: 'parked-body'});
  view.replaceChildren(
    pagePanel('Consumers and projections', 'They read the log in order. Lag is the head minus the checkpoint while an event waits for them; the chart shows it over the last 6 hours, from the samples the worker running each consumer stores about once a minute. Throughput is the checkpoint\'s advance in log positions per second.',
      el('table', {class: 'consumers'},
        thead(['Name', 'Kind', 'Position', 'Lag', 'Lag over time', 'Throughput', 'Oldest waiting', 'Parked', 'Run by', 'Rows', 'State', '']),
        cbody)),
    el('section', {class: 'panel'},
      el('h2', {}, 'Parked events'),
      el('table', {class: 'parked'},
        thead(['Consumer', 'Position', 'Stream', 'Type', 'Attempts', 'Parked', 'Error', 'Payload', '']),
        pbody)));
  let first = true;
  const me = await whoami();
  const admin = me.role === 'admin';
  const refresh = serial(async () => {
    const [cs, hist, ps] = await Promise.all([api('/api/consumers'), api('/api/consumers/history'), api('/api/parked')]);
    if (!document.body.contains(cbody)) return;
    cbody.replaceChildren(...cs.consumers.map((c) => consumerRow(c, hist.consumers[c.name], admin, refresh)));
    if (!cs.consumers.length) cbody.append(el('tr', {}, el('td', {colspan: 12, class: 'empty'}, 'No consumers in this store yet.')));
    const open = new Set([...pbody.querySelectorAll('tr[data-parked]')].map((tr) => tr.dataset.parked));
    if (first || ps.parked.length !== open.size || ps.parked.some((p) => !open.has(p.consumer + '@' + p.position))) {
      pbody.replaceChildren(...ps.parked.map((p) => parkedRow(p, admin, refresh)));
      if (!ps.parked.length) pbody.append(el('tr', {}, el('td', {colspan: 9, class: 'empty'}, 'No parked events.')));
      first = false;
    }
  });
  // Checkpoints move with every handled event: poll every 2 seconds while
  // the page is open.
  await poll(refresh, 2000, () => document.body.contains(cbody));
}
