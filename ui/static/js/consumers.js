// The consumers page (#/consumers): each consumer's checkpoint, lag and
// owners, and the parked events with a retry button each.

import {view, el, fmtTime, fmtDuration} from './dom.js';
import {api, showMessage, stopLive} from './api.js';

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

export async function showConsumers() {
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
  const signal = stopLive();
  let timer = null;
  await refresh();
  (async () => {
    while (!signal.aborted) {
      await new Promise((r) => { timer = setTimeout(r, 1000); });
      if (!signal.aborted && document.body.contains(cbody)) await refresh();
    }
  })();
  signal.addEventListener('abort', () => clearTimeout(timer));
}
