// The lineage graph around an artifact (?uri=...) or a run or step (?target=RUN[/STEP]):
// artifacts and the executions that read and wrote them, drawn by cytoscape.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { get } from '../api.js';
import { ErrorBox, Loading, enc, useLoad } from '../components/common.jsx';
import { STATE_COLOURS } from '../components/graph.js';

cytoscape.use(dagre);

export function Lineage() {
  const { query } = useLocation();
  const target = query.uri || query.target || '';
  const [hops, setHops] = useState(Number(query.hops || 3));
  const graph = useLoad(
    () => (target ? get('/lineage', { target, hops, direction: 'both' }) : Promise.resolve(null)),
    [target, hops],
  );
  const [picked, setPicked] = useState(null);
  return (
    <section>
      <h1>Lineage</h1>
      <form class="filters" method="get" action="/lineage">
        <label>
          Artifact URI, run or run/step
          <input name="uri" size="60" defaultValue={target} />
        </label>
        <label>
          Hops
          <input type="number" min="1" max="20" value={hops} onChange={(e) => setHops(Number(e.currentTarget.value))} />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorBox error={graph.error} />
      <Loading loading={graph.loading} />
      {graph.data && (
        <div class="split">
          <LineageGraph graph={graph.data} onPick={setPicked} />
          <div>{picked ? <NodeDetails node={picked} /> : <p class="muted">Click a node for its details.</p>}</div>
        </div>
      )}
    </section>
  );
}

function LineageGraph({ graph, onPick }) {
  const box = useRef(null);
  useEffect(() => {
    const roots = new Set(graph.roots);
    const cy = cytoscape({
      container: box.current,
      elements: [
        ...graph.nodes.map((n) => ({
          data: { id: n.id, label: n.name || n.type, node: n, colour: n.kind === 'artifact' ? '#f3e3b5' : STATE_COLOURS[n.state === 'COMPLETE' ? 'SUCCEEDED' : n.state] || '#cfe0f6' },
          classes: `${n.kind}${roots.has(n.id) ? ' root' : ''}`,
        })),
        ...graph.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target, label: e.port } })),
      ],
      style: [
        { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-valign': 'center', 'background-color': 'data(colour)', width: 'label', padding: '8px', height: 26, 'border-width': 1, 'border-color': '#666' } },
        { selector: 'node.artifact', style: { shape: 'ellipse' } },
        { selector: 'node.execution', style: { shape: 'round-rectangle' } },
        { selector: 'node.root', style: { 'border-width': 3, 'border-color': '#111' } },
        { selector: 'edge', style: { width: 1.5, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', label: 'data(label)', 'font-size': 9, color: '#666', 'line-color': '#9aa3b2', 'target-arrow-color': '#9aa3b2' } },
      ],
      layout: { name: 'dagre', rankDir: 'LR', nodeSep: 15, rankSep: 60 },
    });
    cy.on('tap', 'node', (e) => onPick(e.target.data('node')));
    // What the graph holds, for scripts and the browser tests: node id -> label.
    box.current.dataset.nodes = JSON.stringify(Object.fromEntries(graph.nodes.map((n) => [n.id, n.name || n.type])));
    return () => cy.destroy();
  }, [graph]);
  return <div class="graph" id="lineage-graph" ref={box} />;
}

function NodeDetails({ node }) {
  return (
    <div class="card">
      <h2>{node.name || node.id}</h2>
      <p class="muted">{node.kind} · {node.type} · {node.state}</p>
      {node.uri && <p class="small">{node.uri} · <a href={`/lineage?uri=${enc(node.uri)}`}>centre here</a></p>}
      {node.run_id && <p><a href={`/runs/${enc(node.run_id)}`}>run {node.run_id}</a>{node.step_id && ` · step ${node.step_id}`}</p>}
      {node.properties && Object.keys(node.properties).length > 0 && <pre class="small">{JSON.stringify(node.properties, null, 2)}</pre>}
    </div>
  );
}
