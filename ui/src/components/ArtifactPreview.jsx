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
  const more = p.truncated ? <p class="muted small">(cut short: more is stored)</p> : null;
  switch (p.kind) {
    case 'metrics':
      return <MetricsTable metrics={p.metrics || []} />;
    case 'classification':
      return (
        <div class="classification">
          {p.matrix?.length > 0 && <ConfusionMatrix categories={p.categories || []} matrix={p.matrix} />}
          {p.roc?.length > 0 && <RocCurve curve={p.roc} />}
        </div>
      );
    case 'html':
      return (
        <>
          <iframe class="html-preview" sandbox="" srcdoc={p.content || ''} title="HTML artifact" />
          {more}
        </>
      );
    case 'markdown':
      return (
        <>
          <div class="markdown" dangerouslySetInnerHTML={{ __html: safeMarkdown(p.content || '') }} />
          {more}
        </>
      );
    case 'table':
      return <DataTable columns={p.columns || []} rows={p.rows || []} truncated={p.truncated} />;
    case 'text':
      return (
        <>
          <pre class="text-preview">{p.content}</pre>
          {more}
        </>
      );
    default:
      return <p class="muted small">no preview ({p.is_dir ? 'a folder' : 'binary'}{p.size ? `, ${p.size} bytes` : ''})</p>;
  }
}

// Markdown rendered without raw HTML: an artifact is untrusted.
function safeMarkdown(text) {
  const escaped = String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return marked.parse(escaped, { async: false });
}

// [{name, value}, ...]
function MetricsTable({ metrics }) {
  return (
    <table class="kv metrics">
      <tbody>
        {metrics.map((m) => (
          <tr key={m.name}><th>{m.name}</th><td>{number(m.value)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

// One row per actual category, one column per predicted one.
export function ConfusionMatrix({ categories, matrix }) {
  const max = Math.max(1, ...matrix.flat());
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
        {matrix.map((row, i) => (
          <tr key={i}>
            <th>{categories[i] ?? i}</th>
            {row.map((n, j) => {
              const shade = n / max;
              return (
                <td key={j} style={{ background: `rgba(47, 126, 224, ${shade})`, color: shade > 0.55 ? '#fff' : '#111' }}>
                  {number(n)}
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
  const points = [...curve].sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr).map((p) => [p.fpr, p.tpr]);
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

function DataTable({ columns, rows, truncated }) {
  return (
    <div class="table-preview">
      <table class="list">
        <thead><tr>{columns.map((c) => <th key={c}>{c}</th>)}</tr></thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>{row.map((v, j) => <td key={j}>{String(v ?? '')}</td>)}</tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">{truncated ? `the first ${rows.length} rows` : `${rows.length} rows`}</p>
    </div>
  );
}
