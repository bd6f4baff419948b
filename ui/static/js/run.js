// The page of one run (#/runs/ID, #/runs/ID?segment=N): what it is and
// where it stands (status, build, times, links to its parent, children
// and reset or continued runs, the long-history badge), its controls, the
// workflow's source beside its journal (see source.js), and the timeline
// of its operations (see gantt.js). It follows the run live.

import {view, el, runHref, runAPI, fmtTime, fmtSpan, pretty, statusBadge, ENDED} from './dom.js';
import {api, showMessage, startLive, whoami} from './api.js';
import {gantt} from './gantt.js';
import {focusOf, journalPane, renderSource} from './source.js';
import {actionsPanel} from './runactions.js';

const st = {id: '', segment: null, run: null, journal: [], segments: [], children: [], sources: {}, file: '', selected: null, picked: false, actions: null, actionsKey: ''};

function link(id) { return el('a', {href: runHref(id)}, id); }

function waitingText(w) {
  const what = {AwaitStarted: 'signal', TimerScheduled: 'timer', ChildStarted: 'child run', StepAttemptFailed: 'retry of step'}[w.type] || w.type;
  return 'Waits for ' + what + (w.name ? ' ' + w.name : '') + (w.until ? ' until ' + fmtTime(w.until) : ' with no deadline') +
    (w.line ? ' (line ' + w.line + ')' : '');
}

function facts(run) {
  const ended = ENDED.has(run.status);
  const segs = st.segments.length > 1 ? st.segments : [];
  const cur = st.segment === null ? segs.length - 1 : st.segment;
  return el('dl', {class: 'facts'},
    el('dt', {}, 'Workflow'), el('dd', {id: 'run-workflow'}, run.workflow),
    el('dt', {}, 'Build'), el('dd', {id: 'run-build'}, run.build || '—'),
    el('dt', {}, 'Started'), el('dd', {id: 'run-started'}, fmtTime(run.created_at)),
    el('dt', {}, 'Ended'), el('dd', {id: 'run-ended'}, ended ? fmtTime(run.ended_at || run.updated_at) : '—'),
    el('dt', {}, 'Duration'), el('dd', {id: 'run-duration'}, fmtSpan(run.created_at, ended ? (run.ended_at || run.updated_at) : '') + (ended ? '' : ' so far')),
    run.parent ? [el('dt', {}, 'Parent'), el('dd', {id: 'run-parent'}, link(run.parent))] : [],
    st.children.length ? [el('dt', {}, 'Children'), el('dd', {id: 'run-children'}, st.children.map((c) => [link(c.id), ' ', statusBadge(c.status), ' ']))] : [],
    run.reset_from ? [el('dt', {}, 'Reset from'), el('dd', {}, link(run.reset_from))] : [],
    run.reset_to ? [el('dt', {}, 'Reset into'), el('dd', {}, link(run.reset_to))] : [],
    segs.length ? [el('dt', {}, 'Continued as new'), el('dd', {id: 'run-segments'}, segs.map((s, i) => [
      i === cur ? el('strong', {}, 'journal ' + s.segment) : el('a', {href: runHref(run.id) + (i === segs.length - 1 ? '' : '?segment=' + s.segment), class: 'segment-link'}, 'journal ' + s.segment),
      ' (' + s.entries + ' entries, ' + fmtTime(s.started_at) + ')', i < segs.length - 1 ? ' → ' : '']))] : [],
    run.waiting ? [el('dt', {}, 'Waiting'), el('dd', {id: 'run-waiting'}, waitingText(run.waiting))] : [],
    run.cancel_requested ? [el('dt', {}, 'Cancel'), el('dd', {}, 'requested')] : []);
}

function render(run, journal, me, wf) {
  const focus = st.segment === null || st.segment === (st.segments.length ? st.segments[st.segments.length - 1].segment : 0) ? focusOf(run, journal) : null;
  if (!st.picked) st.selected = focus && focus.entry ? focus.entry.position : null;
  const badges = [statusBadge(run.status, {id: 'run-status', 'data-status': run.status})];
  if (run.long_history) {
    badges.push(' ', el('span', {class: 'status status-warn', id: 'long-history', title: 'Past the engine\'s threshold: the workflow should continue as new (weft.ContinueAsNew).'},
      'long history: ' + run.journal_entries + ' entries'));
  }
  const failureShown = focus && focus.note; // the error is shown at its line, not here
  const io = el('div', {class: 'io'},
    el('div', {}, el('h3', {}, 'Input'), el('pre', {id: 'run-input'}, pretty(run.input))),
    run.result !== undefined ? el('div', {}, el('h3', {}, 'Result'), el('pre', {id: 'run-result'}, pretty(run.result))) : '',
    run.error && !failureShown ? el('div', {}, el('h3', {}, 'Error'), el('pre', {id: 'run-error', class: 'err'}, (run.error.type ? run.error.type + ': ' : '') + run.error.message)) : '');
  const key = run.status + '|' + me.role + '|' + Boolean(wf);
  if (!st.actions || st.actionsKey !== key) {
    st.actions = actionsPanel(run, me, wf, st, refresh);
    st.actionsKey = key;
  }
  const sourceBox = el('div', {id: 'source-box', class: 'source-pane'});
  const journalBox = el('div', {id: 'journal-box'});
  const live = !ENDED.has(run.status) && st.segment === null;
  const select = (e, fromKeys) => {
    st.selected = e.position;
    st.picked = true;
    journalBox.replaceChildren(journalPane(journal, st, focus));
    renderSource(sourceBox, run, journal, st, focus);
    const list = document.getElementById('journal-list');
    const li = list && list.querySelector('li.on');
    if (li) li.scrollIntoView({block: 'nearest'});
    if (fromKeys && list) list.focus();
  };
  st.select = select;
  journalBox.replaceChildren(journalPane(journal, st, focus));
  view.replaceChildren(
    el('section', {class: 'panel'},
      el('h1', {}, 'Run ', el('code', {id: 'run-id'}, run.id), ' ', badges),
      facts(run), io, st.actions),
    el('section', {class: 'panel debugger'}, el('div', {}, el('h2', {}, 'Source'), sourceBox), journalBox),
    el('section', {class: 'panel'}, el('h2', {}, 'Timeline'), gantt(run, journal, live, (e) => select(e))));
  renderSource(sourceBox, run, journal, st, focus);
}

async function refresh() {
  const id = st.id;
  const seg = st.segment === null ? '' : '?segment=' + st.segment;
  const [run, journal, segs, kids, me] = await Promise.all([
    api(runAPI(id)), api(runAPI(id) + '/journal' + seg), api(runAPI(id) + '/journals').catch(() => ({segments: []})),
    api('/api/runs?limit=50&parent=' + encodeURIComponent(id)).catch(() => ({runs: []})), whoami()]);
  let wf = null;
  try { wf = await api('/api/workflows/' + encodeURIComponent(run.workflow)); } catch (e) { /* run by another server's code */ }
  if (id !== st.id) return;
  Object.assign(st, {run, journal: journal.entries, segments: segs.segments || [], children: kids.runs});
  render(run, journal.entries, me, wf);
}

export async function showRun(id, params) {
  const segment = params && params.get('segment') !== null ? parseInt(params.get('segment'), 10) : null;
  if (st.id !== id || st.segment !== segment) {
    Object.assign(st, {id, segment: Number.isNaN(segment) ? null : segment, run: null, journal: [], sources: {}, file: '', selected: null, picked: false, actions: null, actionsKey: ''});
  }
  view.replaceChildren(el('p', {class: 'hint'}, 'Loading…'));
  try { await refresh(); } catch (e) { view.replaceChildren(el('p', {class: 'hint'}, e.message)); return; }
  let busy = false, again = false;
  startLive('/api/live/runs?run=' + encodeURIComponent(id), async (type, r) => {
    if (type !== 'run') return;
    const cur = st.run;
    if (cur && cur.id === r.id && cur.version === r.version && cur.status === r.status &&
        cur.updated_at === r.updated_at && !!cur.cancel_requested === !!r.cancel_requested) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      do { again = false; await refresh(); } while (again);
    } catch (e) { showMessage(e.message); } finally { busy = false; }
  });
}
