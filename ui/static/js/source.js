// The debugger of a run's page: the workflow's source with the lines the
// journal touched, beside the journal itself. Selecting an entry (click,
// or the arrow keys in the list) highlights the source line that wrote it
// and shows its input, output or error, so that a run reads like a
// debugger's history. A failed or blocked run opens at its failing line,
// with its error (or expected and actual step) shown there, once.

import {el, fmtTime, fmtDuration, pretty, runAPI, splitSource} from './dom.js';
import {api} from './api.js';
import {DONE, FAILED} from './gantt.js';

// focusOf returns where the page opens: the failing or awaited line and
// the entry that goes with it, and the note to show at that line.
export function focusOf(run, journal) {
  if (run.status === 'blocked' && run.divergence) {
    const d = run.divergence;
    const [file, line] = splitSource((d.actual && d.actual.source) || d.source || (d.expected && d.expected.source));
    const entry = journal.find((e) => d.expected && d.expected.entry && e.position === d.expected.entry.position);
    return {file, line, entry, kind: 'blocked', note: divergenceNote(d)};
  }
  if (run.status === 'failed' || run.status === 'cancelled' || run.status === 'terminated') {
    const entry = [...journal].reverse().find((e) => e.file && (e.type === 'StepFailed' || e.error));
    if (entry) return {file: entry.file, line: entry.line, entry, kind: 'failed', note: errorNote(run, entry)};
    return null;
  }
  if (run.waiting && run.waiting.file) {
    const entry = [...journal].reverse().find((e) => e.file === run.waiting.file && e.line === run.waiting.line);
    return {file: run.waiting.file, line: run.waiting.line, entry, kind: 'waiting', note: null};
  }
  return null;
}

function errorNote(run, entry) {
  const err = run.error ? (run.error.type ? run.error.type + ': ' : '') + run.error.message : entry.error;
  return el('div', {class: 'annot annot-failed', id: 'failure'},
    el('strong', {}, entry.name ? 'Step ' + entry.name + ' failed' + (entry.attempt ? ' after ' + entry.attempt + ' attempt' + (entry.attempt === 1 ? '' : 's') : '') : 'Failed here'),
    el('pre', {class: 'err', id: 'run-error'}, err));
}

function divergenceNote(d) {
  const side = (title, s) => el('div', {class: 'div-side'},
    el('h4', {}, title),
    el('p', {}, el('code', {}, (s && s.kind ? s.kind + (s.name ? ' ' + s.name : '') : 'nothing')), s && s.source ? ' at ' + s.source : ''),
    s && s.entry ? el('pre', {}, pretty(s.entry)) : '');
  return el('div', {class: 'annot annot-blocked', id: 'divergence'},
    el('strong', {}, 'Blocked: the code no longer matches the journal at operation ' + d.position + '. Retry the run once the code is fixed.'),
    el('div', {class: 'div-sides'}, side('Expected (journal)', d.expected), side('Actual (code)', d.actual)));
}

// entryLabel is the one-line summary of an entry in the journal list.
function entryLabel(e) {
  return [e.type, e.name || e.child || '', e.attempt ? '#' + e.attempt : ''].filter(Boolean).join(' ');
}

// journalPane renders the journal list and the selected entry's detail.
// st is the page state: st.selected (a position), st.select(entry).
export function journalPane(journal, st, focus) {
  const items = journal.map((e) => {
    const li = el('li', {'data-position': e.position, role: 'option', 'aria-selected': String(e.position === st.selected),
      class: 'j-entry' + (FAILED.has(e.type) || e.error ? ' j-failed' : DONE.has(e.type) ? ' j-done' : '') + (e.position === st.selected ? ' on' : '')},
    el('span', {class: 'j-seq'}, String(e.seq || '')), ' ', el('span', {class: 'j-type'}, entryLabel(e)),
    el('span', {class: 'j-time hint'}, fmtTime(e.time)));
    li.addEventListener('click', () => st.select(e));
    return li;
  });
  const list = el('ol', {id: 'journal-list', class: 'journal', tabindex: 0, role: 'listbox', 'aria-label': 'Journal entries: arrow keys move through the history'}, items);
  list.addEventListener('keydown', (ev) => {
    const i = journal.findIndex((e) => e.position === st.selected);
    let j = -1;
    if (ev.key === 'ArrowDown' || ev.key === 'j') j = Math.min(i + 1, journal.length - 1);
    else if (ev.key === 'ArrowUp' || ev.key === 'k') j = Math.max(i - 1, 0);
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = journal.length - 1;
    if (j < 0 || !journal[j]) return;
    ev.preventDefault();
    st.select(journal[j], true);
  });
  const sel = journal.find((e) => e.position === st.selected);
  return el('div', {class: 'journal-pane'}, el('h2', {}, 'Journal ', el('span', {class: 'hint'}, journal.length + ' entries')), list, entryDetail(sel, focus));
}

function entryDetail(e, focus) {
  // The failing entry's error is shown at its line in the source: once.
  const shownAtLine = focus && focus.note && focus.entry === e;
  if (!e) return el('div', {id: 'entry-detail', class: 'hint'}, 'Select an entry to see its source line, input, output or error.');
  const facts = el('dl', {class: 'facts'},
    el('dt', {}, 'Entry'), el('dd', {}, e.type + ' at version ' + e.version + (e.seq ? ', operation ' + e.seq : '')),
    e.source ? [el('dt', {}, 'Source'), el('dd', {}, e.source)] : [],
    el('dt', {}, 'Written'), el('dd', {}, fmtTime(e.time)),
    e.started ? [el('dt', {}, 'Started'), el('dd', {}, fmtTime(e.started))] : [],
    e.duration_ns && e.attempt ? [el('dt', {}, 'Ran'), el('dd', {id: 'entry-ran'}, fmtDuration(e.duration_ns / 1e6))] : [],
    e.until ? [el('dt', {}, 'Until'), el('dd', {}, fmtTime(e.until))] : [],
    e.child ? [el('dt', {}, 'Child'), el('dd', {}, el('a', {href: '#/runs/' + encodeURIComponent(e.child)}, e.child))] : [],
    e.actor ? [el('dt', {}, 'By'), el('dd', {}, e.actor + (e.reason ? ': ' + e.reason : ''))] : []);
  const label = e.type === 'Started' ? 'Input' : e.type === 'SignalReceived' ? 'Payload' : 'Output';
  return el('div', {id: 'entry-detail', class: 'entry-detail'}, facts,
    e.result !== undefined ? [el('h3', {}, label), el('pre', {id: 'entry-result'}, pretty(e.result))] : '',
    e.error && shownAtLine ? el('p', {class: 'hint'}, 'Its error is shown at line ' + e.line + ' of the source.') : '',
    e.error && !shownAtLine ? [el('h3', {}, 'Error'), el('pre', {class: 'err', id: 'entry-error'}, (e.error_type ? e.error_type + ': ' : '') + e.error)] : '');
}

function sourceFiles(journal) {
  const files = [];
  for (const e of journal) if (e.file && !files.includes(e.file)) files.push(e.file);
  return files;
}

// renderSource renders the source pane into box: the file of the selected
// entry (or of the focus), the lines the journal touched marked, the focus
// line with its note, the selected entry's line highlighted and in view.
export async function renderSource(box, run, journal, st, focus) {
  const files = sourceFiles(journal);
  if (focus && focus.file && !files.includes(focus.file)) files.push(focus.file);
  if (!files.length) { box.replaceChildren(el('p', {class: 'hint'}, 'No source locations in the journal yet.'), focus && focus.note ? focus.note : ''); return; }
  const sel = journal.find((e) => e.position === st.selected);
  const file = (sel && sel.file) || (st.file && files.includes(st.file) ? st.file : '') || (focus && focus.file) || files[files.length - 1];
  st.file = file;
  const tabs = el('div', {class: 'tabs', role: 'tablist'}, files.map((f) => el('button', {
    type: 'button', role: 'tab', 'aria-selected': String(f === file), class: f === file ? 'tab on' : 'tab',
    onclick: () => { st.file = f; st.selected = null; renderSource(box, run, journal, st, focus); },
  }, f.split('/').pop())));
  let src = st.sources[file];
  if (src === undefined) {
    try { src = await api(runAPI(run.id) + '/source?file=' + encodeURIComponent(file)); } catch (e) { src = null; }
    st.sources[file] = src;
  }
  const done = new Set(), failed = new Set();
  for (const e of journal) {
    if (e.file !== file || !e.line) continue;
    if (DONE.has(e.type)) done.add(e.line);
    if (FAILED.has(e.type)) failed.add(e.line);
  }
  const focusLine = focus && focus.file === file ? focus.line : 0;
  const selLine = sel && sel.file === file ? sel.line : 0;
  const caption = el('p', {class: 'src-caption'}, el('code', {}, src ? src.name : file),
    focusLine && focus.kind === 'waiting' ? el('span', {class: 'hint'}, ' — waiting at line ' + focusLine) : '',
    focusLine && focus.kind !== 'waiting' ? el('span', {class: 'hint'}, ' — ' + focus.kind + ' at line ' + focusLine) : '');
  if (!src) {
    const locs = [...new Set(journal.filter((e) => e.file === file).map((e) => e.line))];
    box.replaceChildren(tabs, caption, el('p', {class: 'hint', id: 'source-missing'},
      'The source is not available on this server. Lines: ', locs.map((l) => file + ':' + l).join(', ')), focus && focus.note ? focus.note : '');
    return;
  }
  const lines = [];
  src.lines.forEach((text, i) => {
    const n = i + 1;
    let cls = 'line';
    if (done.has(n)) cls += ' done';
    if (failed.has(n) || (n === focusLine && focus.kind !== 'waiting')) cls += ' failed';
    if (n === focusLine && focus.kind === 'waiting') cls += ' waiting';
    if (n === selLine) cls += ' selected';
    lines.push(el('div', {class: cls, 'data-line': n}, el('span', {class: 'ln'}, String(n)), el('span', {class: 'code'}, text || ' ')));
    if (n === focusLine && focus.note) lines.push(focus.note);
  });
  const pre = el('div', {class: 'src', id: 'source'}, lines);
  box.replaceChildren(tabs, caption, pre);
  const target = pre.querySelector('.line.selected') || pre.querySelector('.line.waiting') || pre.querySelector('.line.failed');
  if (target) pre.scrollTop = Math.max(0, target.offsetTop - pre.clientHeight / 3);
}
