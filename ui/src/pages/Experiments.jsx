// Tuning experiments (Katib): the list, and one experiment's optimization history, parallel
// coordinates and trials table, following trial events live (new trials are fetched after
// the last one held: one request per event burst, never per row).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useRoute, useLocation } from 'preact-iso';
import { get, subscribe } from '../api.js';
import { ErrorBox, Loading, State, Time, enc, number, useLoad } from '../components/common.jsx';
import { Chart } from '../components/Chart.jsx';

export function Experiments() {
  const experiments = useLoad(() => get('/tuning/experiments'), []);
  const list = experiments.data?.experiments || [];
  return (
    <section>
      <h1>Experiments</h1>
      <ErrorBox error={experiments.error} />
      <Loading loading={experiments.loading} />
      {experiments.data && (
        <table class="list" id="experiments">
          <thead><tr><th>Name</th><th>State</th><th>Algorithm</th><th>Objective</th><th>Trials (✓/▶/✗)</th><th>Best</th><th>Created</th></tr></thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.experiment_id}>
                <td><a href={`/experiments/${enc(e.name)}?namespace=${enc(e.namespace)}`}>{e.name}</a></td>
                <td><State state={e.state} /></td>
                <td>{e.algorithm}</td>
                <td>{e.objective_type} {e.objective_metric}</td>
                <td>{e.trials_succeeded}/{e.trials_running}/{e.trials_failed}</td>
                <td>{number(e.best_trial?.objective_value)}</td>
                <td><Time at={e.created_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {experiments.data && !list.length && <p class="muted">No experiments.</p>}
    </section>
  );
}

const PAGE = 500;
const SHOWN = 100;

// Every trial, page after page; then only trials after the last one held.
async function trialsAfter(name, namespace, known) {
  const found = [];
  let token = known;
  for (;;) {
    const page = await get(`/tuning/experiments/${enc(name)}/trials`, { namespace, limit: PAGE, page_token: token });
    found.push(...(page.trials || []));
    const next = page.next_page_token ?? (page.more && page.trials.length ? String(page.trials[page.trials.length - 1].number) : '');
    if (!next || !(page.trials || []).length) return { trials: found, token: next || lastToken(found, token) };
    token = next;
  }
}

function lastToken(trials, fallback) {
  return trials.length ? String(trials[trials.length - 1].number) : fallback;
}

export function ExperimentDetail() {
  const { params } = useRoute();
  const { query } = useLocation();
  const namespace = query.namespace || 'default';
  const name = params.name;
  const experiment = useLoad(() => get(`/tuning/experiments/${enc(name)}`, { namespace }), [name, namespace]);
  const [trials, setTrials] = useState(new Map());
  const [error, setError] = useState(null);
  const [page, setPage] = useState(0);
  const cursor = useRef('');
  const held = useRef(new Map()); // the trials shown, for loads started from event handlers
  const busy = useRef(false);
  const again = useRef(false);

  // Loads new trials; changed ones (a running trial that finished) come by reloading the
  // unfinished ones' page range, which is bounded by the parallel trial count.
  async function load(full) {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    try {
      const start = full ? '' : firstUnfinished(held.current, cursor.current);
      const { trials: found, token } = await trialsAfter(name, namespace, start);
      cursor.current = token;
      const next = full ? new Map() : new Map(held.current);
      for (const t of found) next.set(t.number, t);
      held.current = next;
      setTrials(next);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
      if (again.current) {
        again.current = false;
        load(false);
      }
    }
  }

  useEffect(() => {
    cursor.current = '';
    load(true);
    let timer = null;
    const mine = (event) => {
      const id = event?.data?.experiment_id;
      if (id && id !== `${namespace}/${name}`) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        load(false);
        experiment.reload();
      }, 300);
    };
    const stops = [
      // (Re)connecting reloads too: events published before then are not sent.
      subscribe('/events', { type_prefix: 'io.headrace.trial.' }, (type, event) => mine(event), (s) => s === 'live' && mine({})),
      subscribe('/events', { type_prefix: 'io.headrace.experiment.' }, (type, event) => mine(event)),
    ];
    return () => {
      clearTimeout(timer);
      stops.forEach((stop) => stop());
    };
  }, [name, namespace]);

  const e = experiment.data?.experiment || experiment.data;
  const sorted = useMemo(() => [...trials.values()].sort((a, b) => a.number - b.number), [trials]);
  const minimize = (e?.objective_type || '').toLowerCase() !== 'maximize';
  return (
    <section>
      <h1>Experiment {name} {e && <State state={e.state} />}</h1>
      <ErrorBox error={(!e && experiment.error) || error} />
      {e && (
        <p class="muted">
          {e.algorithm} · {e.objective_type} {e.objective_metric}
          {e.goal !== null && e.goal !== undefined && ` (goal ${e.goal})`} · {sorted.length} trials ·
          best {number(e.best_trial?.objective_value)} ({e.best_trial?.name || '—'})
        </p>
      )}
      <div class="split even">
        <History trials={sorted} minimize={minimize} metric={e?.objective_metric || 'objective'} />
        <Parallel trials={sorted} metric={e?.objective_metric || 'objective'} />
      </div>
      <h2>Trials</h2>
      <table class="list" id="trials">
        <thead><tr><th>#</th><th>Name</th><th>State</th><th>Objective</th><th>Parameters</th><th>Finished</th></tr></thead>
        <tbody>
          {sorted.slice(page * SHOWN, (page + 1) * SHOWN).map((t) => (
            <tr key={t.number}>
              <td>{t.number}</td><td>{t.name}</td><td><State state={t.state} /></td><td>{number(t.objective_value)}</td>
              <td class="small">{Object.entries(t.parameters).map(([k, v]) => `${k}=${short(v)}`).join(' ')}</td>
              <td><Time at={t.finished_at} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>←</button>
        <span class="muted">{page * SHOWN + 1}–{Math.min((page + 1) * SHOWN, sorted.length)} of {sorted.length}</span>
        <button disabled={(page + 1) * SHOWN >= sorted.length} onClick={() => setPage(page + 1)}>→</button>
      </div>
    </section>
  );
}

// The page token to start from so that unfinished trials are read again.
function firstUnfinished(trials, cursor) {
  let first = null;
  for (const t of trials.values()) {
    if (!['SUCCEEDED', 'FAILED', 'KILLED', 'EARLY_STOPPED', 'EARLYSTOPPED', 'METRICS_UNAVAILABLE'].includes(String(t.state).toUpperCase())) {
      if (first === null || t.number < first) first = t.number;
    }
  }
  if (first === null) return cursor;
  return first > 0 ? String(first - 1) : '';
}

function History({ trials, minimize, metric }) {
  const option = useMemo(() => {
    const points = trials.filter((t) => t.objective_value !== null && t.objective_value !== undefined).map((t) => [t.number, t.objective_value]);
    const best = [];
    let so = null;
    for (const [n, v] of points) {
      so = so === null ? v : minimize ? Math.min(so, v) : Math.max(so, v);
      best.push([n, so]);
    }
    return {
      title: { text: 'Optimization history', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'item' },
      legend: { right: 0, data: [metric, 'best so far'] },
      xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 25 },
      yAxis: { type: 'value', scale: true, name: metric },
      series: [
        { name: metric, type: 'scatter', data: points, symbolSize: 5, large: true },
        { name: 'best so far', type: 'line', step: 'end', data: best, showSymbol: false },
      ],
    };
  }, [trials, minimize, metric]);
  return <Chart option={option} id="history" />;
}

function Parallel({ trials, metric }) {
  const option = useMemo(() => {
    const names = [...new Set(trials.flatMap((t) => Object.keys(t.parameters)))].sort();
    const done = trials.filter((t) => t.objective_value !== null && t.objective_value !== undefined);
    const axes = names.map((n, i) => {
      const values = done.map((t) => t.parameters[n]);
      const numeric = values.every((v) => v === undefined || !isNaN(Number(v)));
      return numeric ? { dim: i, name: n, type: 'value', scale: true } : { dim: i, name: n, type: 'category', data: [...new Set(values)] };
    });
    axes.push({ dim: names.length, name: metric, type: 'value', scale: true });
    const data = done.map((t) => [...names.map((n, i) => (axes[i].type === 'value' ? Number(t.parameters[n]) : t.parameters[n])), t.objective_value]);
    const values = data.map((d) => d[d.length - 1]);
    return {
      title: { text: 'Parallel coordinates', textStyle: { fontSize: 13 } },
      parallelAxis: axes,
      parallel: { left: 40, right: 60, top: 50, bottom: 30 },
      visualMap: values.length ? { show: false, dimension: names.length, min: Math.min(...values), max: Math.max(...values), inRange: { color: ['#2f7ee0', '#e0b12f', '#d64545'] } } : undefined,
      series: [{ type: 'parallel', data, lineStyle: { width: 1, opacity: 0.5 }, progressive: 2000 }],
    };
  }, [trials, metric]);
  return <Chart option={option} id="parallel" />;
}

// A parameter as the table shows it: numbers to 4 significant digits, the rest as given.
function short(value) {
  const n = Number(value);
  return value !== '' && !isNaN(n) && !Number.isInteger(n) ? n.toPrecision(4) : value;
}
