// Training jobs (PyTorchJob, TFJob, TrainJob): state, restarts, replicas and their logs,
// and the metrics they reported.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useRoute, useLocation } from 'preact-iso';
import { get, subscribe } from '../api.js';
import { ErrorBox, KeyValues, Loading, State, Time, enc, useLoad } from '../components/common.jsx';
import { LogFollow } from '../components/LogView.jsx';

const REPLICA_ENDED = ['Succeeded', 'Failed'];
const JOB_ENDED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function Jobs() {
  const jobs = useLoad(() => get('/jobs'), []);
  const list = jobs.data?.jobs || [];
  return (
    <section>
      <h1>Training jobs</h1>
      <ErrorBox error={jobs.error} />
      <Loading loading={jobs.loading} />
      {jobs.data && (
        <table class="list" id="jobs">
          <thead><tr><th>Name</th><th>Kind</th><th>State</th><th>Restarts</th><th>Replicas</th><th>Metrics</th></tr></thead>
          <tbody>
            {list.map((j) => (
              <tr key={j.job_id}>
                <td><a href={`/jobs/${enc(j.name)}?namespace=${enc(j.namespace)}`}>{j.name}</a></td>
                <td>{j.kind}</td>
                <td><State state={j.state} /></td>
                <td>{j.attempt}</td>
                <td>{Object.entries(j.replica_statuses || {}).map(([role, s]) => <span key={role} class="tag">{role}: {s.succeeded ?? 0}✓ {s.active ?? 0}▶ {s.failed ?? 0}✗</span>)}</td>
                <td class="small">{Object.entries(j.metrics || {}).map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`).join(' ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {jobs.data && !list.length && <p class="muted">No training jobs.</p>}
    </section>
  );
}

export function JobDetail() {
  const { params } = useRoute();
  const { query } = useLocation();
  const namespace = query.namespace || 'default';
  const job = useLoad(() => get(`/jobs/${enc(params.name)}`, { namespace }), [params.name, namespace]);
  const jobId = useRef(''); // for events that name the job by id only
  jobId.current = job.data?.job_id || '';
  useEffect(
    () => subscribe('/events', { type_prefix: 'io.headrace.trainingjob.' }, (type, event) => {
      const d = event?.data || {};
      const id = String(d.job_id || '');
      if ((d.name === params.name && (d.namespace || 'default') === namespace) || (id && id === jobId.current)) job.reload();
    }, (state) => state === 'live' && job.reload()),
    [params.name, namespace],
  );
  const j = job.data?.job || job.data;
  const [shown, setShown] = useState(''); // the replica whose log is open
  return (
    <section>
      <h1>Training job {params.name} {j && <State state={j.state} />}</h1>
      <ErrorBox error={job.error} />
      <Loading loading={job.loading && !j} />
      {j && (
        <>
          <p class="muted">{j.kind} · {j.namespace} · restarts {j.attempt}</p>
          <h2>Replicas</h2>
          <table class="list" id="replicas">
            <thead><tr><th>Role</th><th>Index</th><th>State</th><th>Attempt</th><th>Exit code</th><th>Log</th></tr></thead>
            <tbody>
              {(j.replicas || []).map((r) => (
                <ReplicaRow key={`${r.role}-${r.index}`} job={j} replica={r} open={shown === `${r.role}-${r.index}`}
                  toggle={(name) => setShown(shown === name ? '' : name)} />
              ))}
            </tbody>
          </table>
          <h2>Conditions</h2>
          <table class="list">
            <thead><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th><th>At</th></tr></thead>
            <tbody>
              {(j.conditions || []).map((c, i) => (
                <tr key={i}><td>{c.type}</td><td>{String(c.status)}</td><td>{c.reason}</td><td>{c.message}</td><td><Time at={c.last_transition_time || c.at} /></td></tr>
              ))}
            </tbody>
          </table>
          <h2>Metrics</h2>
          <KeyValues values={j.metrics} />
        </>
      )}
    </section>
  );
}

// A replica's row; its log (read through the API, followed while it runs) below it when open.
function ReplicaRow({ job, replica: r, open, toggle }) {
  const name = `${r.role}-${r.index}`;
  const running = !REPLICA_ENDED.includes(r.state) && !JOB_ENDED.includes(job.state);
  return (
    <>
      <tr data-replica={name}>
        <td>{r.role}</td><td>{r.index}</td><td><State state={r.state} /></td><td>{r.attempt}</td>
        <td>{r.exit_code ?? ''}</td>
        <td class="small">
          {r.log_uri
            ? <button type="button" class="log-toggle" title={r.log_uri} onClick={() => toggle(name)}>{open ? 'hide log' : 'log'}</button>
            : <span class="muted">—</span>}
        </td>
      </tr>
      {open && (
        <tr class="replica-log" data-replica={name}>
          <td colSpan={6}>
            <LogFollow path={`/jobs/${enc(job.name)}/replicas/${enc(name)}/log`} query={{ namespace: job.namespace }}
              running={running} id={`log-${name}`} />
          </td>
        </tr>
      )}
    </>
  );
}
