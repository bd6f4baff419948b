// The controls of a run's page: the run operations (terminate, cancel,
// suspend, resume, retry, reset, delete), the signal form and the update
// form, shown to an admin token only, each operation confirmed first; and
// the query form, open to read tokens too. Signal payloads, update inputs
// and the forms' fields come from the JSON Schemas the workflow declared
// (DeclareSignal, DeclareUpdate, DeclareQuery).

import {el, pretty, runAPI, ENDED} from './dom.js';
import {api, showMessage} from './api.js';
import {schemaForm} from './schemaform.js';

// OPS are the run operations, with the statuses each applies to.
const OPS = [
  {op: 'suspend', label: 'Suspend', when: (s) => ['pending', 'running', 'waiting'].includes(s), what: 'No step runs until it is resumed; signals are kept.'},
  {op: 'resume', label: 'Resume', when: (s) => s === 'suspended', what: 'The run continues at once.'},
  {op: 'retry', label: 'Retry', when: (s) => s === 'failed' || s === 'blocked', what: 'The run continues from the step that failed, with the code running now.'},
  {op: 'cancel', label: 'Cancel', when: (s) => !ENDED.has(s), what: 'The workflow sees the cancellation and may compensate; its children are cancelled too.', danger: true},
  {op: 'terminate', label: 'Terminate', when: (s) => !ENDED.has(s), what: 'The run stops now: no more steps, no compensation.', danger: true},
  {op: 'reset', label: 'Reset…', when: () => true, what: 'A new run replays this journal up to the operation given and continues from there; this run, if live, is terminated.', danger: true},
  {op: 'delete', label: 'Delete', when: (s) => ENDED.has(s), what: 'The run and its journal are deleted for good.', danger: true},
];

// confirmDialog asks to confirm an operation, with a reason (and, for a
// reset, the operation to reset to); it resolves to the body to send, or
// null when cancelled.
function confirmDialog(title, what, withSeq, seq) {
  return new Promise((resolve) => {
    const reason = el('input', {id: 'confirm-reason', placeholder: 'reason (recorded with the operation)'});
    const seqIn = withSeq ? el('input', {id: 'confirm-seq', type: 'number', min: 0, step: 1, value: seq || 0, 'aria-label': 'reset to operation'}) : null;
    const ok = el('button', {type: 'submit', id: 'confirm-ok'}, title);
    const no = el('button', {type: 'button', id: 'confirm-cancel'}, 'Cancel');
    const dlg = el('dialog', {id: 'confirm', class: 'panel'},
      el('form', {method: 'dialog'}, el('h2', {}, title + '?'), el('p', {}, what),
        seqIn ? el('label', {}, 'Reset to operation ', seqIn) : '',
        el('div', {class: 'row'}, reason), el('div', {class: 'row'}, ok, no)));
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = {};
      if (reason.value) body.reason = reason.value;
      if (seqIn) body.to_seq = parseInt(seqIn.value, 10) || 0;
      done(body);
    });
    no.addEventListener('click', () => done(null));
    dlg.addEventListener('cancel', () => done(null));
    document.body.append(dlg);
    dlg.showModal();
    reason.focus();
  });
}

function opButtons(run, st, refresh) {
  return OPS.filter((o) => o.when(run.status)).map((o) => {
    const b = el('button', {type: 'button', id: 'op-' + o.op, class: o.danger ? 'danger' : ''}, o.label);
    b.addEventListener('click', async () => {
      const sel = st.journal.find((e) => e.position === st.selected);
      const body = await confirmDialog(o.label.replace('…', '') + ' run ' + run.id, o.what, o.op === 'reset', sel && sel.seq);
      if (!body) return;
      try {
        if (o.op === 'delete') {
          await api(runAPI(run.id), {method: 'DELETE'});
          // Said once the list is shown: a new page clears the message.
          window.addEventListener('hashchange', () => showMessage('Run ' + run.id + ' deleted.', 'ok'), {once: true});
          location.hash = '#/';
          return;
        }
        const r = await api(runAPI(run.id) + '/' + o.op, {method: 'POST', body});
        showMessage(o.label.replace('…', '') + ': done.', 'ok');
        if (o.op === 'reset' && r.id && r.id !== run.id) { location.hash = '#/runs/' + encodeURIComponent(r.id); return; }
        refresh();
      } catch (e) { showMessage(e.message); }
    });
    return b;
  });
}

// declaredForm is a select of the declared names, with "other" for an
// undeclared one, and the form of the chosen one's schema (or a JSON text
// area). It returns node and read(), which gives [name, value].
function declaredForm(kind, decls, withPayload, st) {
  const key = kind + 'Choice';
  const select = el('select', {id: kind + '-select', 'aria-label': kind},
    decls.map((d) => el('option', {value: d.name, selected: d.name === st[key]}, d.name)),
    el('option', {value: '', selected: st[key] === ''}, decls.length ? 'other…' : 'name…'));
  const name = el('input', {id: kind + '-name', placeholder: kind + ' name'});
  const box = el('div', {class: 'sf-box'});
  let form = null;
  const show = () => {
    st[key] = select.value;
    const d = decls.find((x) => x.name === select.value);
    name.hidden = !!d;
    if (!withPayload) { box.replaceChildren(); return; }
    if (d) {
      form = schemaForm(d.schema, kind + '-field');
      box.replaceChildren(form.node);
    } else {
      const area = el('textarea', {id: kind + '-payload', rows: 3, placeholder: 'payload (JSON)'});
      form = {node: area, value: () => (area.value.trim() ? JSON.parse(area.value) : undefined)};
      box.replaceChildren(area);
    }
  };
  select.addEventListener('change', show);
  show();
  return {node: el('div', {}, el('div', {class: 'row'}, select, name), box), read: () => [select.value || name.value, form ? form.value() : undefined]};
}

// updateForm is the form of an update (POST /api/runs/{id}/updates/{name}):
// the declared updates' inputs from their schemas, an optional update ID
// (its idempotency key), and the handler's answer once it comes.
// lastAnswer is the last update answer shown, by run: the page re-renders
// its panels when the run changes (and an update changes it), so the answer
// outlives the form it came to.
const lastAnswer = new Map();

function updateForm(run, wf, st) {
  const decls = (wf && wf.updates ? wf.updates : []).map((u) => ({name: u.name, schema: u.input.schema}));
  const upd = declaredForm('update', decls, true, st);
  const id = el('input', {id: 'update-id', placeholder: 'update ID (optional: idempotency key)'});
  const out = el('pre', {id: 'update-result', hidden: !lastAnswer.has(run.id)});
  out.textContent = lastAnswer.get(run.id) || '';
  const form = el('form', {id: 'update-form', class: 'actions'}, el('h3', {}, 'Send an update'), upd.node,
    el('div', {class: 'row'}, id), el('button', {type: 'submit', id: 'update-send'}, 'Send update'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let name, input;
    try { [name, input] = upd.read(); } catch (e) { showMessage(e.message); return; }
    if (!name) { showMessage('Name the update.'); return; }
    const body = {};
    if (input !== undefined) body.input = input;
    if (id.value.trim()) body.update_id = id.value.trim();
    out.hidden = true;
    lastAnswer.delete(run.id);
    try {
      const r = await api(runAPI(run.id) + '/updates/' + encodeURIComponent(name), {method: 'POST', body});
      lastAnswer.set(run.id, pretty(r.result));
      for (const o of document.querySelectorAll('#update-result')) {
        o.textContent = lastAnswer.get(run.id);
        o.hidden = false;
      }
      showMessage('Update ' + JSON.stringify(name) + ' answered (ID ' + r.update_id + ').', 'ok');
    } catch (e) { showMessage(e.message); }
  });
  return form;
}

// actionsPanel renders the controls for run into a node; me is the
// caller (whoami), wf the workflow's description (or null).
export function actionsPanel(run, me, wf, st, refresh) {
  const admin = me.role === 'admin';
  const parts = [];
  if (admin) {
    parts.push(el('div', {class: 'actions', id: 'run-ops'}, el('h3', {}, 'Operations'), el('div', {class: 'row wrap'}, opButtons(run, st, refresh))));
    if (!ENDED.has(run.status)) {
      const sig = declaredForm('signal', wf ? wf.signals : [], true, st);
      const form = el('form', {id: 'signal-form', class: 'actions'}, el('h3', {}, 'Send a signal'), sig.node,
        el('button', {type: 'submit', id: 'signal-send'}, 'Send signal'));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        let name, payload;
        try { [name, payload] = sig.read(); } catch (e) { showMessage(e.message); return; }
        if (!name) { showMessage('Name the signal.'); return; }
        try {
          await api(runAPI(run.id) + '/signals', {method: 'POST', body: payload === undefined ? {name} : {name, payload}});
          showMessage('Signal ' + JSON.stringify(name) + ' sent.', 'ok');
        } catch (e) { showMessage(e.message); }
      });
      parts.push(form, updateForm(run, wf, st));
    }
  } else {
    parts.push(el('p', {class: 'hint', id: 'read-only'}, 'Your token is read-only: operations, signals and updates need an admin token.'));
  }
  const q = declaredForm('query', wf ? wf.queries : [], false, st);
  const out = el('pre', {id: 'query-result', hidden: true});
  const qform = el('form', {id: 'query-form', class: 'actions'}, el('h3', {}, 'Query'), q.node,
    el('button', {type: 'submit', id: 'query-send'}, 'Ask'), out);
  qform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const [name] = q.read();
    if (!name) { showMessage('Name the query.'); return; }
    try {
      const r = await api(runAPI(run.id) + '/queries/' + encodeURIComponent(name));
      out.textContent = pretty(r.result);
      out.hidden = false;
    } catch (e) { showMessage(e.message); }
  });
  parts.push(qform);
  return el('div', {class: 'action-box'}, parts);
}
