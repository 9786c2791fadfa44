import { render } from 'preact';
import { LocationProvider, Router, Route, lazy, ErrorBoundary, useLocation } from 'preact-iso';
import './style.css';
import { Runs } from './pages/Runs.jsx';
import { Models, ModelDetail } from './pages/Models.jsx';
import { Services, ServiceDetail } from './pages/Services.jsx';
import { Jobs, JobDetail } from './pages/Jobs.jsx';
import { useCaller } from './components/common.jsx';

// Pages with graphs and plots load their toolkits (cytoscape, ECharts) only when opened.
const RunDetail = lazy(() => import('./pages/RunDetail.jsx').then((m) => m.RunDetail));
const Lineage = lazy(() => import('./pages/Lineage.jsx').then((m) => m.Lineage));
const Experiments = lazy(() => import('./pages/Experiments.jsx').then((m) => m.Experiments));
const ExperimentDetail = lazy(() =>
  import('./pages/Experiments.jsx').then((m) => m.ExperimentDetail),
);

const SECTIONS = [
  ['/runs', 'Runs'],
  ['/experiments', 'Experiments'],
  ['/jobs', 'Training jobs'],
  ['/models', 'Models'],
  ['/services', 'Inference services'],
];

function Nav() {
  const { path: here } = useLocation();
  const caller = useCaller();
  return (
    <header class="top">
      <a class="brand" href="/runs">Headrace</a>
      <nav>
        {SECTIONS.map(([href, label]) => (
          <a key={href} href={href} class={here.startsWith(href) || (here === '/' && href === '/runs') ? 'active' : ''}>
            {label}
          </a>
        ))}
      </nav>
      {caller?.role && (
        <span class="caller" id="caller" data-role={caller.role} title={`signed in by ${caller.auth_method}`}>
          {caller.actor} · {caller.role}
          {!caller.may_write && ' (read only)'}
        </span>
      )}
    </header>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{location.pathname}</code>: pick a section above.
      </p>
    </section>
  );
}

function App() {
  return (
    <LocationProvider>
      <Nav />
      <main>
        <ErrorBoundary>
          <Router>
            <Route path="/" component={Runs} />
            <Route path="/runs" component={Runs} />
            <Route path="/runs/:id" component={RunDetail} />
            <Route path="/lineage" component={Lineage} />
            <Route path="/experiments" component={Experiments} />
            <Route path="/experiments/:name" component={ExperimentDetail} />
            <Route path="/jobs" component={Jobs} />
            <Route path="/jobs/:name" component={JobDetail} />
            <Route path="/models" component={Models} />
            <Route path="/models/:name" component={ModelDetail} />
            <Route path="/services" component={Services} />
            <Route path="/services/:name" component={ServiceDetail} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('app'));
