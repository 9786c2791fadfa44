// The submit form: a compiled pipeline (YAML or JSON, uploaded or pasted), its parameters as
// JSON, a name and a namespace; POST /api/v1/runs answers the new run's id.
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { ErrorBox } from './common.jsx';

export function SubmitRun({ onSubmitted }) {
  const [pipeline, setPipeline] = useState('');
  const [parameters, setParameters] = useState('{}');
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('default');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function upload(event) {
    const file = event.currentTarget.files[0];
    if (file) setPipeline(await file.text());
  }

  async function submit(event) {
    event.preventDefault();
    setError(null);
    let params;
    try {
      params = parameters.trim() ? JSON.parse(parameters) : {};
      if (typeof params !== 'object' || Array.isArray(params)) throw new Error('not an object');
    } catch (e) {
      setError(new Error(`the parameters are not a JSON object (${e.message}): write e.g. {"epochs": 3}`));
      return;
    }
    if (!pipeline.trim()) {
      setError(new Error('no pipeline: upload a compiled pipeline YAML or paste it'));
      return;
    }
    setBusy(true);
    try {
      const answer = await post('/runs', { pipeline, parameters: params, name, namespace });
      onSubmitted(answer.run_id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="submit card" onSubmit={submit}>
      <h2>Submit a run</h2>
      <label>
        Pipeline file (compiled YAML)
        <input type="file" name="pipeline_file" accept=".yaml,.yml,.json" onChange={upload} />
      </label>
      <label>
        or its text
        <textarea name="pipeline" rows="6" value={pipeline} onInput={(e) => setPipeline(e.currentTarget.value)} />
      </label>
      <label>
        Parameters (JSON)
        <textarea name="parameters" rows="3" value={parameters} onInput={(e) => setParameters(e.currentTarget.value)} />
      </label>
      <div class="row">
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Namespace
          <input name="namespace" value={namespace} onInput={(e) => setNamespace(e.currentTarget.value)} />
        </label>
      </div>
      <ErrorBox error={error} />
      <button class="primary" type="submit" disabled={busy}>{busy ? 'Submitting…' : 'Submit'}</button>
    </form>
  );
}
