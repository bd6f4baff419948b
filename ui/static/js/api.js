// The API client shared by every page: JSON requests with the token,
// problem+json errors, the page's message line, and the live stream of
// Server-Sent Events of the page on screen.

const message = document.getElementById('message');
export function showMessage(text, kind) {
  message.textContent = text;
  message.className = 'message ' + (kind || 'error');
  message.hidden = false;
}
export function clearMessage() { message.hidden = true; message.textContent = ''; }

export function token() { return sessionStorage.getItem('weft-token') || ''; }
export const tokenForm = document.getElementById('token-form');

export class Problem extends Error {
  constructor(p) {
    super((p.title || 'Error') + (p.detail ? ': ' + p.detail : ''));
    this.problem = p;
  }
}

function headers(extra) {
  const h = Object.assign({'Accept': 'application/json'}, extra || {});
  if (token()) h['Authorization'] = 'Bearer ' + token();
  return h;
}

export async function problemOf(res) {
  let p = {title: res.status + ' ' + res.statusText, status: res.status};
  try { p = await res.json(); } catch (e) { /* not JSON */ }
  if (res.status === 401) {
    // Every route needs the token once the server has one: ask for it.
    tokenForm.hidden = false;
    document.getElementById('token-input').focus();
  }
  return new Problem(p);
}

export async function api(path, opts) {
  const o = opts || {};
  const method = o.method || 'GET';
  // The API refuses a change without this header, even one without a body:
  // a cross-site form or no-cors fetch cannot send it.
  const init = {method, headers: headers(method !== 'GET' ? {'Content-Type': 'application/json'} : {})};
  if (o.body !== undefined) init.body = JSON.stringify(o.body);
  const res = await fetch(path, init);
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return null; // a DELETE's "done", without a body
  return res.json();
}

// stream reads Server-Sent Events from path with fetch (so that the token
// header can be sent), calling onEvent(type, data, id), and reconnects with
// Last-Event-ID until signal aborts.
export async function stream(path, onEvent, signal) {
  const dot = document.getElementById('live');
  let lastID = '';
  while (!signal.aborted) {
    try {
      const h = headers({'Accept': 'text/event-stream'});
      if (lastID) h['Last-Event-ID'] = lastID;
      const res = await fetch(path, {headers: h, signal});
      if (!res.ok) {
        const p = await problemOf(res);
        showMessage('Live updates: ' + p.message);
        // Too many streams open (429, 503): wait as told, then try again.
        const wait = parseInt(res.headers.get('Retry-After') || '', 10);
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait * 1000));
          continue;
        }
        if (res.status >= 400 && res.status < 500) return;
      } else {
        dot.classList.add('on');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = 'message', data = '', id = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
              else if (line.startsWith('id: ')) id = line.slice(4);
            }
            if (id) lastID = id;
            if (data) {
              try { onEvent(type, JSON.parse(data), id); } catch (e) { console.error(e); }
            }
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    dot.classList.remove('on');
    await new Promise((r) => setTimeout(r, 1500));
  }
}

// live is the AbortController of the current page's live work (a stream
// or a poll); a new page's stopLive or startLive ends the previous one.
let live = null;

// stopLive ends the previous page's live work and returns a signal for the
// new page's own (aborted when the next page starts).
export function stopLive() {
  if (live) live.abort();
  live = new AbortController();
  return live.signal;
}

// startLive follows path's Server-Sent Events for the page on screen.
export function startLive(path, onEvent) {
  stream(path, onEvent, stopLive());
}

// serial wraps a page's refresh so that a call made while one runs is
// dropped (a slow answer never overlaps the next poll or a button's
// refresh) and its error is shown on the message line.
export function serial(refresh) {
  let busy = false;
  return async () => {
    if (busy) return;
    busy = true;
    try { await refresh(); } catch (e) { showMessage(e.message); } finally { busy = false; }
  };
}

// poll is the live work of a page whose data has no stream: it ends the
// previous page's, calls refresh, and calls it again every ms
// milliseconds while alive() (the page is on screen), until the next page
// starts.
export async function poll(refresh, ms, alive) {
  const signal = stopLive();
  let timer = null;
  signal.addEventListener('abort', () => clearTimeout(timer));
  await refresh();
  (async () => {
    while (!signal.aborted) {
      await new Promise((r) => { timer = setTimeout(r, ms); });
      if (!signal.aborted && alive()) await refresh();
    }
  })();
}

// whoami returns, once per token, the caller's name and role ("admin" or
// "read"), which decide the controls a page shows; the server checks
// every request anyway.
let me = null;
export function whoami() {
  if (!me) me = api('/api/whoami').catch(() => ({name: '', role: 'read'}));
  return me;
}
export function forgetWhoami() { me = null; }
