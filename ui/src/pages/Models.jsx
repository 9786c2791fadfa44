// Registered models; one model's versions with their metrics and aliases, and a promote
// action that shows the registry's reason when it refuses.
import { useState } from 'preact/hooks';
import { useRoute, useLocation } from 'preact-iso';
import { get, post } from '../api.js';
import { ErrorBox, Loading, Time, enc, number, useLoad, useMayWrite } from '../components/common.jsx';

export function Models() {
  const { query } = useLocation();
  const namespace = query.namespace || 'default';
  const models = useLoad(() => get('/models', { namespace }), [namespace]);
  return (
    <section>
      <h1>Models</h1>
      <p class="muted">namespace {namespace}</p>
      <ErrorBox error={models.error} />
      <Loading loading={models.loading} />
      {models.data && (
        <table class="list" id="models">
          <thead><tr><th>Model</th><th>Latest version</th><th>Versions</th><th>Aliases</th><th>Updated</th></tr></thead>
          <tbody>
            {models.data.models.map((m) => (
              <tr key={m.name}>
                <td><a href={`/models/${enc(m.name)}?namespace=${enc(m.namespace)}`}>{m.name}</a></td>
                <td>{m.latest_version}</td>
                <td>{m.version_count}</td>
                <td>{Object.entries(m.aliases).map(([a, v]) => <span key={a} class="tag">{a} → v{v}</span>)}</td>
                <td><Time at={m.updated_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {models.data && !models.data.models.length && <p class="muted">No models registered yet.</p>}
    </section>
  );
}

export function ModelDetail() {
  const { params } = useRoute();
  const { query } = useLocation();
  const name = params.name;
  const namespace = query.namespace || 'default';
  const [tick, setTick] = useState(0);
  const mayWrite = useMayWrite();
  const model = useLoad(() => get(`/models/${enc(name)}`, { namespace }), [name, namespace, tick]);
  const versions = useLoad(() => get(`/models/${enc(name)}/versions`, { namespace }), [name, namespace, tick]);
  const metricNames = [...new Set((versions.data?.versions || []).flatMap((v) => Object.keys(v.metrics)))].sort();
  return (
    <section>
      <h1>Model {name}</h1>
      <ErrorBox error={model.error || versions.error} />
      <Loading loading={versions.loading && !versions.data} />
      {model.data && (
        <p>
          Aliases:{' '}
          {Object.entries(model.data.aliases).length
            ? Object.entries(model.data.aliases).map(([a, v]) => <span key={a} class="tag">{a} → v{v}</span>)
            : <span class="muted">none</span>}
        </p>
      )}
      {versions.data && (
        <table class="list" id="versions">
          <thead>
            <tr>
              <th>Version</th><th>State</th><th>Aliases</th>
              {metricNames.map((m) => <th key={m}>{m}</th>)}
              <th>Run</th><th>Created</th>{mayWrite && <th>Promote</th>}
            </tr>
          </thead>
          <tbody>
            {versions.data.versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <td>v{v.version}</td>
                <td>{v.state}</td>
                <td>{v.aliases.map((a) => <span key={a} class="tag">{a}</span>)}</td>
                {metricNames.map((m) => <td key={m}>{number(v.metrics[m])}</td>)}
                <td>{v.run_id && <a href={`/runs/${enc(v.run_id)}`}>{v.run_id}</a>}</td>
                <td><Time at={v.created_at} /></td>
                {mayWrite && (
                  <td><Promote name={name} namespace={namespace} version={v.version} onDone={() => setTick((t) => t + 1)} /></td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Promote({ name, namespace, version, onDone }) {
  const [alias, setAlias] = useState('production');
  const [require, setRequire] = useState('');
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  async function promote(event) {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      await post(`/models/${enc(name)}/promote`, { version, alias, namespace, require });
      setResult({ ok: true, text: `v${version} is now ${alias}` });
      onDone();
    } catch (e) {
      const reason = e.body?.reason || e.body?.detail || e.message;
      setResult({ ok: false, text: `refused: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}` });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="promote" onSubmit={promote}>
      <input name="alias" size="10" title="alias" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} />
      <input name="require" size="22" title="a condition the version must meet (CEL)" placeholder="if, e.g. metrics.accuracy >= 0.9" value={require} onInput={(e) => setRequire(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>Promote</button>
      {result && <div class={result.ok ? 'ok promote-result' : 'error promote-result'} role="status">{result.text}</div>}
    </form>
  );
}
