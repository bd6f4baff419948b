// The queues page (#/queues): each queue with the runs and steps that wait
// and run in it against its limits, and how long runs wait (GET /api/queues).

import {view, el, fmtTime, fmtDuration, thead, pagePanel} from './dom.js';
import {api, poll, serial} from './api.js';

// limit shows a limit, '–' for none (0).
function limit(n) { return n > 0 ? String(n) : '–'; }

function queueRow(q) {
  const full = q.limit > 0 && q.running >= q.limit;
  return el('tr', {'data-queue': q.name},
    el('td', {}, q.name),
    el('td', {class: q.queued > 0 ? 'lagging' : ''}, String(q.queued)),
    el('td', {class: full ? 'lagging' : ''}, String(q.running)),
    el('td', {class: 'steps-queued' + (q.steps_queued > 0 ? ' lagging' : '')}, String(q.steps_queued)),
    el('td', {class: 'steps-running' + (q.limit > 0 && q.steps_running >= q.limit ? ' lagging' : '')}, String(q.steps_running)),
    el('td', {}, limit(q.limit)),
    el('td', {}, limit(q.per_worker)),
    el('td', {}, q.rate_n > 0 ? q.rate_n + ' / ' + fmtDuration(q.rate_per_ms) : '–'),
    el('td', {}, limit(q.key_concurrency)),
    el('td', {title: q.oldest_queued_at ? 'waiting since ' + fmtTime(q.oldest_queued_at) : ''}, q.oldest_queued_at ? fmtDuration(q.wait_ms) : '–'),
    el('td', {}, q.admitted_last_hour > 0 ? fmtDuration(q.mean_wait_ms) : '–'),
    el('td', {}, String(q.admitted_last_hour)));
}

export async function showQueues() {
  const body = el('tbody', {id: 'queues-body'});
  view.replaceChildren(
    pagePanel('Queues', 'A run on a queue waits, holding nothing in any worker, until the store admits it under the queue\'s limits; it keeps its place until it ends. A step on a queue (StepOnQueue) waits the same way for a slot, which it holds while it runs; steps and runs count apart.',
      el('table', {class: 'queues'},
        thead(['Queue', 'Runs queued', 'Runs running', 'Steps queued', 'Steps running', 'Limit', 'Per worker', 'Rate', 'Per key', 'Wait', 'Mean wait (1h)', 'Admitted (1h)']),
        body)));
  const refresh = serial(async () => {
    const qs = await api('/api/queues');
    if (!document.body.contains(body)) return;
    body.replaceChildren(...qs.queues.map(queueRow));
    if (!qs.queues.length) body.append(el('tr', {}, el('td', {colspan: 12, class: 'empty'}, 'No queues in this store yet: they are recorded when an app that registers them starts.')));
  });
  // Counts move with every admission: poll every second while the page is
  // open.
  await poll(refresh, 1000, () => document.body.contains(body));
}
