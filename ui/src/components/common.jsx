// Small shared pieces: loading data, showing errors, states, times.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { whoami } from '../api.js';

// The caller ({actor, role, may_write, ...}) once known; null before.
export function useCaller() {
  const [caller, setCaller] = useState(null);
  useEffect(() => {
    whoami().then(setCaller);
  }, []);
  return caller;
}

// Whether the caller may write (start, cancel, re-run, promote); false until known.
export function useMayWrite() {
  return useCaller()?.may_write === true;
}

// Loads `load()` when `deps` change; {data, error, loading, reload, setData}.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => (live = false);
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run, setData: (f) => setState((s) => ({ ...s, data: f(s.data) })) };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {String(error.message || error)}
    </div>
  );
}

export function Loading({ loading }) {
  return loading ? <div class="muted">loading…</div> : null;
}

export function State({ state }) {
  const s = String(state || '').toUpperCase();
  return <span class={`state state-${s.toLowerCase()}`} data-state={s}>{state}</span>;
}

export function Time({ at }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  return <time dateTime={at} title={at}>{isNaN(d) ? at : d.toLocaleString()}</time>;
}

export function seconds(value) {
  if (value === null || value === undefined) return '—';
  if (value < 60) return `${value.toFixed(1)} s`;
  const m = Math.floor(value / 60);
  return m < 60 ? `${m} min ${Math.round(value % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function number(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

export function KeyValues({ values }) {
  const entries = Object.entries(values || {});
  if (!entries.length) return <span class="muted">none</span>;
  return (
    <table class="kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{typeof v === 'object' ? JSON.stringify(v) : number(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const enc = encodeURIComponent;
