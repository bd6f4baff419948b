// Keyboard navigation for every page: "g" then a letter goes to a page,
// j and k move a selection over the rows of the page's first table, Enter
// opens the selected row's link, "/" focuses the page's first search box
// and "?" shows the list. Keys typed into a field are left alone.

import {el} from './dom.js';

const GO = {o: ['#/overview', 'Overview'], r: ['#/', 'Runs'], e: ['#/entities', 'Entities'], l: ['#/events', 'Event log'], c: ['#/consumers', 'Consumers'], q: ['#/queues', 'Queues'], t: ['#/timers', 'Timers']};

const HELP = [
  ...Object.entries(GO).map(([k, [, name]]) => ['g ' + k, name]),
  ['j / k', 'next / previous row'],
  ['Enter', 'open the selected row'],
  ['/', 'search or filter'],
  ['?', 'this help'],
  ['Esc', 'close'],
];

function typing(t) {
  return t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

// rows are the rows of the page's first table or list that has links.
function rows() {
  const box = [...document.querySelectorAll('#view tbody, #view ul.plain')].find((b) => b.querySelector('a'));
  return box ? [...box.children].filter((r) => !r.querySelector('td.empty')) : [];
}

function move(by) {
  const rs = rows();
  if (!rs.length) return;
  const cur = rs.findIndex((tr) => tr.classList.contains('kb-sel'));
  const next = Math.max(0, Math.min(rs.length - 1, cur < 0 ? 0 : cur + by));
  rs.forEach((tr) => tr.classList.remove('kb-sel'));
  rs[next].classList.add('kb-sel');
  rs[next].scrollIntoView({block: 'nearest'});
}

function toggleHelp() {
  const open = document.getElementById('kb-help');
  if (open) { open.close(); open.remove(); return; }
  const dlg = el('dialog', {id: 'kb-help', class: 'panel'},
    el('h2', {}, 'Keyboard'),
    el('table', {}, el('tbody', {}, HELP.map(([k, what]) => el('tr', {}, el('td', {}, el('kbd', {}, k)), el('td', {}, what))))),
    el('form', {method: 'dialog'}, el('button', {type: 'submit'}, 'Close')));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

let pendingG = 0;

export function installKeys() {
  document.getElementById('help-button')?.addEventListener('click', toggleHelp);
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (pendingG && Date.now() - pendingG < 1500 && GO[ev.key]) {
      pendingG = 0;
      ev.preventDefault();
      location.hash = GO[ev.key][0];
      return;
    }
    pendingG = 0;
    switch (ev.key) {
      case 'g': pendingG = Date.now(); break;
      case 'j': move(1); break;
      case 'k': move(-1); break;
      case 'Enter': {
        const a = document.querySelector('#view .kb-sel a');
        if (a) { ev.preventDefault(); a.click(); }
        break;
      }
      case '/': {
        const f = document.querySelector('#view input[type=search], #view input:not([type=checkbox])');
        if (f) { ev.preventDefault(); f.focus(); }
        break;
      }
      case '?': ev.preventDefault(); toggleHelp(); break;
      default: return;
    }
  });
}
