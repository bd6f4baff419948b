// ask shows a modal dialog (an in-page <dialog>, not window.confirm, so
// that it is styled and scriptable) that confirms an action, with an
// optional input; it resolves to the input's value ('' without one), or
// null when cancelled.

import {el} from './dom.js';

export function ask(title, what, input) {
  return new Promise((resolve) => {
    const field = input ? el('input', Object.assign({id: 'ask-input'}, input)) : null;
    const ok = el('button', {type: 'submit', id: 'ask-ok'}, title);
    const no = el('button', {type: 'button', id: 'ask-cancel'}, 'Cancel');
    const dlg = el('dialog', {id: 'ask', class: 'panel'},
      el('form', {method: 'dialog'}, el('h2', {}, title + '?'), el('p', {}, what),
        field ? el('div', {class: 'row'}, field) : '', el('div', {class: 'row'}, ok, no)));
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (field && !field.checkValidity()) { field.reportValidity(); return; }
      done(field ? field.value : '');
    });
    no.addEventListener('click', () => done(null));
    dlg.addEventListener('cancel', () => done(null));
    document.body.append(dlg);
    dlg.showModal();
    (field || ok).focus();
  });
}
