// How a bus event changes what the page shows: the step or run state its ce-type names.
const STEP = {
  ready: 'READY',
  started: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cached: 'CACHED',
  skipped: 'SKIPPED',
  cancelled: 'CANCELLED',
};
const RUN = {
  started: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  rejected: 'REJECTED',
  cancelling: 'CANCELLING',
};
const STEP_RANK = { PENDING: 0, READY: 1, RUNNING: 2, SKIPPED: 3, CACHED: 3, SUCCEEDED: 3, FAILED: 3, CANCELLED: 3 };
const RUN_RANK = { PENDING: 0, RUNNING: 1, CANCELLING: 2, SUCCEEDED: 3, CANCELLED: 3, FAILED: 3, REJECTED: 3 };

// ("io.headrace.step.succeeded.v1") -> ["step", "succeeded"]
export function areaAndName(type) {
  const parts = String(type || '').split('.');
  return parts.length >= 5 ? [parts[2], parts[3]] : [null, null];
}

// A step retried goes from FAILED back to READY with a higher attempt: the attempt decides
// first, then the rank (so a stale READY never hides a later SUCCEEDED).
function newer(current, state, attempt) {
  if (!current) return true;
  if ((attempt || 0) !== (current.attempts || 0)) return (attempt || 0) > (current.attempts || 0);
  return (STEP_RANK[state] ?? 0) >= (STEP_RANK[current.state] ?? 0);
}

// The run view with one event applied.
export function applyEvent(run, type, payload) {
  const [area, name] = areaAndName(type);
  if (!run || !payload) return run;
  if (area === 'step' && STEP[name] && payload.step_id) {
    const state = STEP[name];
    const steps = [...run.steps];
    const at = steps.findIndex((s) => s.step_id === payload.step_id);
    const current = at >= 0 ? steps[at] : null;
    if (!newer(current, state, payload.attempt)) return run;
    const updated = {
      ...(current || { step_id: payload.step_id, task_name: payload.task_name || payload.step_id.split('/').pop(), kind: 'container' }),
      state,
      attempts: Math.max(current?.attempts || 0, payload.attempt || 0),
    };
    if (payload.reason) updated.reason = payload.reason;
    if (payload.log_uri) updated.log_uri = payload.log_uri;
    if (at >= 0) steps[at] = updated;
    else steps.push(updated);
    return { ...run, steps };
  }
  if (area === 'run' && RUN[name]) {
    const state = RUN[name];
    if ((RUN_RANK[state] ?? 0) < (RUN_RANK[run.state] ?? 0)) return run;
    return { ...run, state, error: payload.reason || payload.error || run.error };
  }
  return run;
}

// A fresh read of the run merged with what events already said (the read model may lag).
export function mergeRead(read, live) {
  if (!live) return read;
  const byId = new Map(live.steps.map((s) => [s.step_id, s]));
  const steps = read.steps.map((s) => {
    const seen = byId.get(s.step_id);
    return seen && ahead(seen, s) ? { ...s, state: seen.state, attempts: seen.attempts } : s;
  });
  const known = new Set(read.steps.map((s) => s.step_id));
  for (const s of live.steps) if (!known.has(s.step_id)) steps.push(s);
  const state = (RUN_RANK[live.state] ?? 0) > (RUN_RANK[read.state] ?? 0) ? live.state : read.state;
  return { ...read, state, steps };
}

function ahead(a, b) {
  if ((a.attempts || 0) !== (b.attempts || 0)) return (a.attempts || 0) > (b.attempts || 0);
  return (STEP_RANK[a.state] ?? 0) > (STEP_RANK[b.state] ?? 0);
}
