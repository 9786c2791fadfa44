// The run's DAG drawn by cytoscape (dagre layout). Colours follow the steps' states; the
// layout runs again only when steps or edges are added, so live state changes just recolour.
import { useEffect, useRef } from 'preact/hooks';
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { elements, pendingSteps } from './graph.js';

cytoscape.use(dagre);

const STYLE = [
  {
    selector: 'node.step',
    style: {
      shape: 'round-rectangle',
      width: 'label',
      height: 28,
      padding: '8px',
      'background-color': 'data(colour)',
      label: 'data(label)',
      color: '#111',
      'font-size': 12,
      'text-valign': 'center',
      'text-halign': 'center',
      'border-width': 1,
      'border-color': '#555',
    },
  },
  { selector: 'node.pending', style: { 'border-style': 'dashed', color: '#555' } },
  { selector: 'node.step:selected', style: { 'border-width': 3, 'border-color': '#111' } },
  {
    selector: 'node.group',
    style: {
      shape: 'round-rectangle',
      label: 'data(label)',
      'text-valign': 'top',
      'text-halign': 'center',
      'font-size': 11,
      color: '#444',
      'background-color': '#f4f6f9',
      'background-opacity': 0.6,
      'border-style': 'dashed',
      'border-color': '#8a94a6',
      padding: '10px',
    },
  },
  { selector: 'node.loop', style: { 'border-style': 'double', 'border-width': 3 } },
  { selector: 'node.condition', style: { 'border-color': '#c58b00', 'background-color': '#fff8e6' } },
  { selector: 'node.iteration', style: { 'border-style': 'dotted' } },
  {
    selector: 'edge',
    style: {
      width: 1.5,
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      'line-color': '#8a94a6',
      'target-arrow-color': '#8a94a6',
    },
  },
];

export function RunGraph({ steps, lineage, template, selected, onSelect }) {
  const box = useRef(null);
  const cy = useRef(null);
  const shape = useRef('');

  useEffect(() => {
    cy.current = cytoscape({ container: box.current, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 1.3 });
    cy.current.on('tap', 'node.step', (event) => !event.target.hasClass('pending') && onSelect(event.target.data('step')));
    return () => cy.current.destroy();
  }, []);

  useEffect(() => {
    const graph = cy.current;
    const pending = pendingSteps(steps, template);
    const wanted = elements([...steps, ...pending], lineage, template);
    const key = wanted.map((e) => e.data.id).sort().join('|');
    if (key !== shape.current) {
      shape.current = key;
      graph.elements().remove();
      graph.add(wanted);
      graph.layout({ name: 'dagre', rankDir: 'LR', nodeSep: 20, rankSep: 50, animate: false }).run();
      graph.fit(undefined, 20);
    } else {
      for (const element of wanted) {
        if (element.data.state) graph.getElementById(element.data.id).data(element.data);
      }
    }
    graph.nodes().unselect();
    if (selected) graph.getElementById(`s:${selected}`).select();
    // For the browser tests and anyone scripting the page: each step's state, by step id.
    box.current.dataset.states = JSON.stringify(Object.fromEntries(steps.map((s) => [s.step_id, s.state])));
    box.current.dataset.pending = JSON.stringify(pending.map((s) => s.step_id));
    box.current.dataset.edges = JSON.stringify(graph.edges().map((e) => `${e.source().id().slice(2)}->${e.target().id().slice(2)}`));
    box.current.dataset.groups = JSON.stringify(
      Object.fromEntries(graph.nodes('.group').map((n) => [n.id().slice(2), n.data('label')])),
    );
  }, [steps, lineage, template, selected]);

  return <div class="graph" id="run-graph" ref={box} />;
}
