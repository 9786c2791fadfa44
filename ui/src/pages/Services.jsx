// Inference services: state, URL, revisions, traffic split and replicas; a service's page
// follows its InferenceServiceUpdated events live, and its router's traffic summaries
// (io.headrace.inferenceservice.traffic.v1 telemetry: requests/s, p50/p95 per revision).
import { useEffect, useRef, useState } from 'preact/hooks';
import { useRoute, useLocation } from 'preact-iso';
import { get, subscribe } from '../api.js';
import { ErrorBox, Loading, State, Time, enc, useLoad } from '../components/common.jsx';

export function Services() {
  const services = useLoad(() => get('/inferenceservices', { namespace: '' }), []);
  return (
    <section>
      <h1>Inference services</h1>
      <ErrorBox error={services.error} />
      <Loading loading={services.loading} />
      {services.data && (
        <table class="list" id="services">
          <thead><tr><th>Name</th><th>Namespace</th><th>State</th><th>Model</th><th>Traffic</th><th>URL</th></tr></thead>
          <tbody>
            {services.data.services.map((s) => (
              <tr key={`${s.namespace}/${s.name}`}>
                <td><a href={`/services/${enc(s.name)}?namespace=${enc(s.namespace)}`}>{s.name}</a></td>
                <td>{s.namespace}</td>
                <td><State state={s.state} /></td>
                <td>{s.model ? `${s.model}${s.alias ? `@${s.alias}` : ''}` : s.storage_uri}</td>
                <td><Traffic traffic={s.traffic} /></td>
                <td class="small">{s.url}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {services.data && !services.data.services.length && <p class="muted">No inference services.</p>}
    </section>
  );
}

function Traffic({ traffic }) {
  return (
    <div class="traffic">
      {(traffic || []).map((t) => (
        <div key={t.revision} class={`share ${t.tag}`} style={{ width: `${Math.max(t.percent, 4)}%` }} title={`${t.revision}: ${t.percent}%`}>
          {t.percent}%
        </div>
      ))}
    </div>
  );
}

const TRAFFIC = 'io.headrace.inferenceservice.traffic.';

function Requests({ load }) {
  const ms = (v) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
  return (
    <>
      <h2>Requests</h2>
      {!load && <p class="muted" id="no-requests">No requests in the last window.</p>}
      {load && (
        <table class="list" id="requests">
          <thead><tr><th>Revision</th><th>Requests/s</th><th>p50</th><th>p95</th><th>Requests</th><th>Errors (5xx)</th></tr></thead>
          <tbody>
            {load.revisions.map((r) => (
              <tr key={r.revision}>
                <td>{r.revision || '(none)'}</td>
                <td>{r.requests_per_second.toFixed(1)}</td>
                <td>{ms(r.p50_ms)}</td>
                <td>{ms(r.p95_ms)}</td>
                <td>{r.requests} in {load.window_seconds} s</td>
                <td>{r.errors}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function ServiceDetail() {
  const { params } = useRoute();
  const { query } = useLocation();
  const namespace = query.namespace || 'default';
  const service = useLoad(() => get(`/inferenceservices/${enc(params.name)}`, { namespace }), [params.name, namespace]);
  const [load, setLoad] = useState(null);
  const [live, setLive] = useState('connecting');
  const expiry = useRef(null);
  useEffect(() => {
    setLoad(null);
    const stop = subscribe('/events', { type_prefix: 'io.headrace.inferenceservice.' }, (type, event) => {
      const data = event?.data;
      if (data?.service_name === params.name && (data.namespace || 'default') === namespace && type.startsWith(TRAFFIC)) {
        // a summary comes each window with requests; none for two windows means idle
        clearTimeout(expiry.current);
        setLoad(data);
        expiry.current = setTimeout(() => setLoad(null), 2000 * data.window_seconds + 1000);
        return;
      }
      const view = data?.service;
      if (view && view.name === params.name && view.namespace === namespace) service.setData(() => view);
    }, (state) => {
      setLive(state);
      // Once connected (again), read it: events published before then are not sent.
      if (state === 'live') service.reload();
    });
    return () => {
      clearTimeout(expiry.current);
      stop && stop();
    };
  }, [params.name, namespace]);
  const s = service.data;
  return (
    <section>
      <div class="title-row">
        <h1>
          Inference service {params.name} {s && <State state={s.state} />}
        </h1>
        <span class={`live live-${live}`} title="live updates from the bus">{live}</span>
      </div>
      <ErrorBox error={service.error} />
      <Loading loading={service.loading && !s} />
      {s && (
        <>
          <p class="muted">
            {[
              s.url,
              s.model ? `model ${s.model}${s.alias ? `@${s.alias}` : ''}` : s.storage_uri,
              s.model_format,
              `protocol ${s.protocol_version}`,
              `replicas ${s.min_replicas}–${s.max_replicas}`,
              `generation ${s.generation}`,
            ].filter(Boolean).join(' · ')}
          </p>
          {s.error && <div class="error">{s.error}</div>}
          <h2>Traffic</h2>
          <Traffic traffic={s.traffic} />
          <table class="list">
            <thead><tr><th>Revision</th><th>Tag</th><th>Percent</th><th>Ready</th></tr></thead>
            <tbody>
              {s.traffic.map((t) => (
                <tr key={t.revision}><td>{t.revision}</td><td>{t.tag}</td><td>{t.percent}%</td><td>{t.ready ? 'yes' : 'no'}</td></tr>
              ))}
            </tbody>
          </table>
          <Requests load={load} />
          <h2>Revisions</h2>
          <table class="list" id="revisions">
            <thead><tr><th>Revision</th><th>State</th><th>Model</th><th>Replicas (ready/wanted)</th><th>Created</th><th>Reason</th></tr></thead>
            <tbody>
              {s.revisions.map((r) => (
                <tr key={r.name}>
                  <td>{r.name}</td>
                  <td><State state={r.state} /></td>
                  <td>{r.storage_uri}</td>
                  <td>{r.ready_replicas}/{r.replicas}</td>
                  <td><Time at={r.created_at} /></td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
