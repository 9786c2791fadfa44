// One run: its graph (live from the bus), its arguments and outputs, and the selected step's
// details, log and artifacts.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { get, post, subscribe } from '../api.js';
import { ErrorBox, KeyValues, Loading, State, Time, enc, seconds, useLoad, useMayWrite } from '../components/common.jsx';
import { RunGraph } from '../components/RunGraph.jsx';
import { StepPanel } from '../components/StepPanel.jsx';
import { applyEvent, mergeRead } from '../components/live.js';

// Pauses (ms) between reads of a run the read model does not hold yet: about 30 s in all.
const NOT_YET = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
// How long after connecting the run is read once more (see the live stream's onState).
const SETTLE_MS = 2000;

export function RunDetail() {
  const { params } = useRoute();
  const { route } = useLocation();
  const id = params.id;
  const [run, setRun] = useState(null);
  const [lineage, setLineage] = useState(null);
  const [template, setTemplate] = useState(null);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState('');
  const [live, setLive] = useState('connecting');
  const liveRun = useRef(null);
  const mayWrite = useMayWrite();
  // The run this page shows now: a read of the one shown before (still in flight when a
  // re-run moved the page on) must not land on it.
  const shown = useRef(id);

  function show(next) {
    liveRun.current = next;
    setRun(next);
  }

  // Reads the run (and its data edges) again, merged with what events said meanwhile.
  const refresh = useRef(null);
  const settle = useRef(null);
  async function read(missing = 0) {
    try {
      const [fresh, graph] = await Promise.all([
        get(`/runs/${enc(id)}`),
        get('/lineage', { target: id, hops: 2 }).catch(() => null),
      ]);
      if (shown.current !== id) return;
      show(mergeRead(fresh, liveRun.current));
      if (graph) setLineage(graph);
      setError(null);
    } catch (e) {
      if (shown.current !== id || liveRun.current) return;
      // A run just submitted (or re-run) reaches the read model after the scheduler took it
      // up, and its live events may come before it too: look again a few times before
      // saying it is unknown.
      if (e.status === 404 && missing < NOT_YET.length) {
        clearTimeout(refresh.current);
        refresh.current = setTimeout(() => read(missing + 1), NOT_YET[missing]);
        return;
      }
      setError(e);
    }
  }
  function later() {
    clearTimeout(refresh.current);
    refresh.current = setTimeout(read, 400);
  }

  useEffect(() => {
    shown.current = id;
    liveRun.current = null;
    setRun(null);
    setSelected('');
    setTemplate(null);
    read();
    // The pipeline's tasks, so steps not started yet show too (absent for old runs).
    get(`/runs/${enc(id)}/graph`).then(setTemplate, () => setTemplate(null));
    const stop = subscribe(
      '/events',
      { run_id: id },
      (type, event) => {
        if (!event || typeof event !== 'object') return;
        if (liveRun.current) show(applyEvent(liveRun.current, event.type || type, event.data));
        later();
      },
      // Once connected (again), read the run: events published before then are not sent.
      (state) => {
        setLive(state);
        if (state === 'live') {
          later();
          // An event published just before the page listened reaches the read model a
          // moment later, and no event may follow it for long (a step running): read once
          // more when that moment has passed.
          clearTimeout(settle.current);
          settle.current = setTimeout(() => read(), SETTLE_MS);
        }
      },
    );
    return () => {
      stop();
      clearTimeout(refresh.current);
      clearTimeout(settle.current);
    };
  }, [id]);

  const [actionError, setActionError] = useState(null);
  async function act(what) {
    setActionError(null);
    try {
      const answer = await post(`/runs/${enc(id)}/${what}`, {});
      if (answer?.run_id && answer.run_id !== id) route(`/runs/${enc(answer.run_id)}`);
      else later();
    } catch (e) {
      setActionError(e);
    }
  }

  if (error) return <ErrorBox error={error} />;
  if (!run) return <Loading loading />;
  const step = run.steps.find((s) => s.step_id === selected);
  return (
    <section>
      <div class="title-row">
        <h1>
          {run.display_name || run.run_id} <State state={run.state} />
        </h1>
        <div class="actions">
          <span class={`live live-${live}`} title="live updates from the bus">{live}</span>
          {mayWrite && ['PENDING', 'RUNNING'].includes(run.state) && <button onClick={() => act('cancel')}>Cancel</button>}
          {mayWrite && <button onClick={() => act('rerun')}>Re-run</button>}
        </div>
      </div>
      <ErrorBox error={actionError} />
      <p class="muted">
        {run.run_id} · pipeline {run.pipeline_name || '—'} · experiment {run.experiment || '—'} · created{' '}
        <Time at={run.created_at} /> · {seconds(run.duration_seconds)}
      </p>
      {run.error && <div class="error">{run.error}</div>}
      <div class="split">
        <div>
          <RunGraph steps={run.steps} lineage={lineage} template={template} selected={selected} onSelect={setSelected} />
          <p class="muted small">
            Click a step for its log and artifacts. Dashed boxes are sub-DAGs, yellow ones conditions,
            double-bordered ones loops (dotted: one iteration), dashed steps have not started; arrows show what waits for what.
          </p>
          <details>
            <summary>Arguments and outputs</summary>
            <h3>Arguments</h3>
            <KeyValues values={run.arguments} />
            <h3>Output parameters</h3>
            <KeyValues values={run.output_parameters} />
          </details>
        </div>
        <div>
          {step ? <StepPanel run={run} step={step} /> : <StepList steps={run.steps} onSelect={setSelected} />}
        </div>
      </div>
    </section>
  );
}

function StepList({ steps, onSelect }) {
  return (
    <table class="list" id="steps">
      <thead>
        <tr><th>Step</th><th>State</th><th>Duration</th></tr>
      </thead>
      <tbody>
        {steps.map((s) => (
          <tr key={s.step_id}>
            <td><a href="#" data-step={s.step_id} onClick={(e) => { e.preventDefault(); onSelect(s.step_id); }}>{s.step_id}</a></td>
            <td><State state={s.state} /></td>
            <td>{seconds(s.duration_seconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
