// Runs: filter by state, pipeline and experiment, sort, page (the server pages; one request
// per page), submit a pipeline, cancel and re-run. The list reloads when a run event arrives.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { get, post, subscribe } from '../api.js';
import { ErrorBox, Loading, State, Time, enc, seconds, useLoad, useMayWrite } from '../components/common.jsx';
import { SubmitRun } from '../components/SubmitRun.jsx';

const STATES = ['', 'PENDING', 'RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'REJECTED'];
const PAGE = 50;

export function Runs() {
  const { route } = useLocation();
  const [filters, setFilters] = useState({ state: '', pipeline: '', experiment: '', sort: 'created', asc: false });
  const [tokens, setTokens] = useState(['']); // page tokens of the pages seen, for "previous"
  const [tick, setTick] = useState(0);
  const [showSubmit, setShowSubmit] = useState(false);
  const [actionError, setActionError] = useState(null);
  const mayWrite = useMayWrite();
  const token = tokens[tokens.length - 1];
  const runs = useLoad(
    () => get('/runs', { ...filters, asc: filters.asc ? 'true' : '', limit: PAGE, page_token: token }),
    [JSON.stringify(filters), token, tick],
  );

  // A run changing state reloads this page, at most every second; so does (re)connecting,
  // since events published before then are not sent.
  const pending = useRef(null);
  useEffect(() => {
    const soon = () => {
      if (pending.current) return;
      pending.current = setTimeout(() => {
        pending.current = null;
        setTick((t) => t + 1);
      }, 1000);
    };
    return subscribe('/events', { type_prefix: 'io.headrace.run.' }, soon, (state) => state === 'live' && soon());
  }, []);

  // Names typed in are applied once typing pauses (one request, not one per key).
  const [typed, setTyped] = useState({ pipeline: '', experiment: '' });
  useEffect(() => {
    if (typed.pipeline === filters.pipeline && typed.experiment === filters.experiment) return;
    const timer = setTimeout(() => {
      setFilters((f) => ({ ...f, ...typed }));
      setTokens(['']);
    }, 300);
    return () => clearTimeout(timer);
  }, [typed.pipeline, typed.experiment]);
  const type = (key) => (event) => setTyped({ ...typed, [key]: event.currentTarget.value });

  const change = (key) => (event) => {
    const value = event.currentTarget.type === 'checkbox' ? event.currentTarget.checked : event.currentTarget.value;
    setFilters((f) => ({ ...f, [key]: value }));
    setTokens(['']);
  };

  async function act(path, runId) {
    setActionError(null);
    try {
      const answer = await post(`/runs/${enc(runId)}/${path}`, {});
      if (answer && answer.run_id && answer.run_id !== runId) route(`/runs/${enc(answer.run_id)}`);
      else setTick((t) => t + 1);
    } catch (error) {
      setActionError(error);
    }
  }

  const data = runs.data;
  return (
    <section>
      <div class="title-row">
        <h1>Runs</h1>
        {mayWrite && (
          <button class="primary" onClick={() => setShowSubmit(!showSubmit)}>
            {showSubmit ? 'Close' : 'Submit a run'}
          </button>
        )}
      </div>
      {showSubmit && <SubmitRun onSubmitted={(id) => route(`/runs/${enc(id)}`)} />}
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select name="state" value={filters.state} onChange={change('state')}>
            {STATES.map((s) => (
              <option key={s} value={s}>{s || 'any'}</option>
            ))}
          </select>
        </label>
        <label>
          Pipeline
          <input name="pipeline" value={typed.pipeline} onInput={type('pipeline')} placeholder="name" />
        </label>
        <label>
          Experiment
          <input name="experiment" value={typed.experiment} onInput={type('experiment')} placeholder="name" />
        </label>
        <label>
          Sort by
          <select name="sort" value={filters.sort} onChange={change('sort')}>
            <option value="created">created</option>
            <option value="finished">finished</option>
            <option value="duration">duration</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" name="asc" checked={filters.asc} onChange={change('asc')} /> ascending
        </label>
      </form>
      <ErrorBox error={runs.error || actionError} />
      <Loading loading={runs.loading && !data} />
      {data && (
        <>
          <p class="muted">{data.total} runs</p>
          <table class="list" id="runs">
            <thead>
              <tr>
                <th>Run</th><th>State</th><th>Pipeline</th><th>Experiment</th><th>Steps</th>
                <th>Created</th><th>Duration</th><th></th>
              </tr>
            </thead>
            <tbody>
              {data.runs.map((run) => (
                <tr key={run.run_id} data-run={run.run_id}>
                  <td><a href={`/runs/${enc(run.run_id)}`}>{run.display_name || run.run_id}</a></td>
                  <td><State state={run.state} /></td>
                  <td>{run.pipeline_name}</td>
                  <td>{run.experiment}</td>
                  <td><StepCounts counts={run.step_states} total={run.step_count} /></td>
                  <td><Time at={run.created_at} /></td>
                  <td>{seconds(run.duration_seconds)}</td>
                  <td class="actions">
                    {!mayWrite ? null : ['PENDING', 'RUNNING'].includes(run.state) ? (
                      <button onClick={() => act('cancel', run.run_id)}>Cancel</button>
                    ) : (
                      <button onClick={() => act('rerun', run.run_id)}>Re-run</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="pager">
            <button disabled={tokens.length < 2} onClick={() => setTokens(tokens.slice(0, -1))}>← Newer</button>
            <span class="muted">page {tokens.length}</span>
            <button disabled={!data.next_page_token} onClick={() => setTokens([...tokens, data.next_page_token])}>Older →</button>
          </div>
        </>
      )}
    </section>
  );
}

function StepCounts({ counts, total }) {
  const entries = Object.entries(counts || {});
  if (!entries.length) return <span class="muted">{total || ''}</span>;
  return (
    <span class="counts">
      {entries.map(([state, n]) => (
        <span key={state} class={`dot state-${state.toLowerCase()}`} title={state}>{n}</span>
      ))}
    </span>
  );
}
