// The HTTP API under /api/v1 and its live events (server-sent events), same-origin, with the
// browser's cookies, so a login cookie set by /login?token=... authorises every request.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function detailOf(body, fallback) {
  if (body && typeof body === 'object') {
    const d = body.detail ?? body.reason ?? body.error ?? body.message;
    if (typeof d === 'string') return d;
    if (Array.isArray(d)) return d.map((e) => e.msg || JSON.stringify(e)).join('; ');
  }
  return fallback;
}

export async function request(path, { method = 'GET', body, query } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(url, init);
  const type = response.headers.get('Content-Type') || '';
  const parsed = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    throw new ApiError(
      response.status,
      `${response.status}: ${detailOf(parsed, typeof parsed === 'string' ? parsed : response.statusText)}`,
      parsed,
    );
  }
  return parsed;
}

export const get = (path, query) => request(path, { query });
export const post = (path, body) => request(path, { method: 'POST', body });

// Who the caller is to the API, asked once: the dashboard offers only what their role may
// do (the API refuses the rest anyway). Unanswered: offer everything and let it refuse.
let caller = null;
export function whoami() {
  caller = caller || get('/whoami').catch(() => ({ actor: '', role: '', may_write: true }));
  return caller;
}

// A log from byte `offset` at `path` (a step's .../log, a training job replica's
// .../log; `query` more parameters, e.g. a namespace): {text, size, complete}.
export async function logChunk(path, offset, query = {}) {
  const url = new URL(API + path, location.origin);
  url.searchParams.set('offset', String(offset));
  for (const [k, v] of Object.entries(query)) if (v) url.searchParams.set(k, v);
  const response = await fetch(url, { credentials: 'same-origin' });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, `${response.status}: ${detailOf(safeJson(text), text)}`);
  return {
    text,
    size: Number(response.headers.get('X-Log-Size') || offset + text.length),
    complete: (response.headers.get('X-Log-Complete') || '').toLowerCase() === 'true',
  };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Subscribes to server-sent events at `path` (under /api/v1); calls onEvent(name, data) for
// every event whatever its name; reconnects after a drop. Returns a function that stops it.
export function subscribe(path, query, onEvent, onState = () => {}) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v) url.searchParams.set(k, v);
  let stopped = false;
  let controller = null;
  let retry = null;

  async function connect() {
    controller = new AbortController();
    try {
      const response = await fetch(url, {
        credentials: 'same-origin',
        headers: { Accept: 'text/event-stream' },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let listening = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // Live from the server's first line on (": listening"), which it sends once it
        // listens: the headers can come before, and events published then are not sent.
        if (!listening) {
          listening = true;
          onState('live');
        }
        buffer += value.replace(/\r\n/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end), onEvent);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (stopped) return;
    }
    if (!stopped) {
      onState('reconnecting');
      retry = setTimeout(connect, 2000);
    }
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    controller?.abort();
  };
}

function dispatch(block, onEvent) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return;
  const text = data.join('\n');
  onEvent(name, safeJson(text) ?? text);
}
