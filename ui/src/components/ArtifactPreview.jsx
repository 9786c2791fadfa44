// A preview of one artifact from GET /artifacts/{id}/preview: a metrics table, a confusion
// matrix as a heat-map table, a ROC curve, HTML in a sandboxed frame, Markdown, the head of
// a dataset, or text.
import { marked } from 'marked';
import { get } from '../api.js';
import { ErrorBox, Loading, enc, number, useLoad } from './common.jsx';
import { Chart } from './Chart.jsx';

export function previewPath(artifact) {
  return `/artifacts/${enc(artifact.uri)}/preview`;
}

export function ArtifactPreview({ artifact }) {
  const preview = useLoad(() => get(previewPath(artifact)), [artifact.uri]);
  if (preview.loading) return <Loading loading />;
  if (preview.error) return <ErrorBox error={preview.error} />;
  return <Preview preview={preview.data} />;
}

export function Preview({ preview }) {
  const p = preview || {};
  switch (p.kind) {
    case 'metrics':
      return <MetricsTable metrics={p.metrics || {}} />;
    case 'classification':
      return (
        <div class="classification">
          {p.confusion_matrix && <ConfusionMatrix matrix={p.confusion_matrix} />}
          {p.roc_curve && <RocCurve curve={p.roc_curve} />}
        </div>
      );
    case 'html':
      return <iframe class="html-preview" sandbox="" srcdoc={p.html ?? p.text ?? ''} title="HTML artifact" />;
    case 'markdown':
      return <div class="markdown" dangerouslySetInnerHTML={{ __html: safeMarkdown(p.markdown ?? p.text ?? '') }} />;
    case 'table':
      return <DataTable columns={p.columns || []} rows={p.rows || []} total={p.total_rows ?? p.total} />;
    case 'text':
      return <pre class="text-preview">{p.text}</pre>;
    default:
      return <p class="muted">{p.reason || p.message || `no preview (${p.kind || 'unknown'}${p.size ? `, ${p.size} bytes` : ''})`}</p>;
  }
}

// Markdown rendered without raw HTML: an artifact is untrusted.
function safeMarkdown(text) {
  const escaped = String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return marked.parse(escaped, { async: false });
}

function MetricsTable({ metrics }) {
  return (
    <table class="kv metrics">
      <tbody>
        {Object.entries(metrics).map(([k, v]) => (
          <tr key={k}><th>{k}</th><td>{number(v)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

// {categories: [...], rows: [[...], ...]} (rows: true class, columns: predicted)
export function ConfusionMatrix({ matrix }) {
  const categories = matrix.categories || matrix.annotationSpecs?.map((a) => a.displayName) || [];
  const rows = (matrix.rows || []).map((r) => (Array.isArray(r) ? r : r.row || []));
  const max = Math.max(1, ...rows.flat());
  return (
    <table class="confusion" id="confusion-matrix">
      <caption>Confusion matrix (rows: actual, columns: predicted)</caption>
      <thead>
        <tr>
          <th></th>
          {categories.map((c) => <th key={c}>{c}</th>)}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>
            <th>{categories[i] ?? i}</th>
            {row.map((n, j) => {
              const shade = n / max;
              return (
                <td key={j} style={{ background: `rgba(47, 126, 224, ${shade})`, color: shade > 0.55 ? '#fff' : '#111' }}>
                  {n}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// [{fpr, tpr, threshold}, ...]
function RocCurve({ curve }) {
  const points = (curve || []).map((p) => [p.fpr ?? p.falsePositiveRate ?? p[0], p.tpr ?? p.recall ?? p[1]]);
  const option = {
    title: { text: 'ROC curve', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'false positive rate', min: 0, max: 1, nameLocation: 'middle', nameGap: 25 },
    yAxis: { type: 'value', name: 'true positive rate', min: 0, max: 1 },
    series: [
      { type: 'line', data: points, showSymbol: false },
      { type: 'line', data: [[0, 0], [1, 1]], lineStyle: { type: 'dashed', color: '#aaa' }, showSymbol: false },
    ],
  };
  return <Chart option={option} height={260} id="roc-curve" />;
}

function DataTable({ columns, rows, total }) {
  return (
    <div class="table-preview">
      <table class="list">
        <thead><tr>{columns.map((c) => <th key={c}>{c}</th>)}</tr></thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>{(Array.isArray(row) ? row : columns.map((c) => row[c])).map((v, j) => <td key={j}>{String(v ?? '')}</td>)}</tr>
          ))}
        </tbody>
      </table>
      {total !== undefined && <p class="muted small">first {rows.length} of {total} rows</p>}
    </div>
  );
}
