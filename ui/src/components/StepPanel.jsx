// The selected step: its state and details, its log (streaming while it runs) and the
// artifacts it wrote, each with a preview.
import { KeyValues, State, Time, enc, seconds } from './common.jsx';
import { LogView } from './LogView.jsx';
import { ArtifactPreview } from './ArtifactPreview.jsx';

export function StepPanel({ run, step }) {
  const artifacts = Object.entries(step.output_artifacts || {}).flatMap(([name, refs]) =>
    refs.map((ref, i) => ({ key: `${name}-${i}`, name, ref })),
  );
  return (
    <div class="step-panel" id="step-panel" data-step={step.step_id}>
      <h2>
        {step.step_id} <State state={step.state} />
      </h2>
      <p class="muted">
        attempt {step.attempts || 0} · started <Time at={step.started_at} /> · {seconds(step.duration_seconds)}
        {step.exit_code !== null && step.exit_code !== undefined && ` · exit code ${step.exit_code}`}
        {step.cached && ` · cached from ${step.cache_source_run_id}`}
      </p>
      {step.reason && <div class="error">{step.reason}</div>}
      <h3>Log</h3>
      <LogView runId={run.run_id} stepId={step.step_id} state={step.state} />
      <h3>Output parameters</h3>
      <KeyValues values={step.output_parameters} />
      <h3>Artifacts</h3>
      {!artifacts.length && <p class="muted">none{['PENDING', 'READY', 'RUNNING'].includes(step.state) ? ' yet' : ''}</p>}
      {artifacts.map(({ key, name, ref }) => (
        <div class="artifact card" key={key}>
          <div class="artifact-head">
            <strong>{name}</strong> <span class="muted">{ref.schema_title}</span>{' '}
            <a href={`/lineage?uri=${enc(ref.uri)}`}>lineage</a>
          </div>
          <div class="muted small">{ref.uri}</div>
          <ArtifactPreview artifact={ref} runId={run.run_id} stepId={step.step_id} name={name} />
        </div>
      ))}
    </div>
  );
}
