// The run's graph as cytoscape elements: one node per step, a compound node per enclosing
// group (a sub-DAG, a condition, a loop and each of its iterations, read from the step ids:
// "for-loop-2[3]/train" is task "train" in iteration 3 of loop "for-loop-2"), and an edge
// wherever one step read an artifact another wrote (from the run's lineage).

export const STATE_COLOURS = {
  PENDING: '#c9ced6',
  READY: '#9cc2f0',
  RUNNING: '#2f7ee0',
  SUCCEEDED: '#2e9e5b',
  CACHED: '#6fbf8f',
  FAILED: '#d64545',
  SKIPPED: '#e0e0e0',
  CANCELLED: '#8c8c8c',
  CANCELLING: '#b0b0b0',
};

export function groupKind(segment) {
  if (/\[\d+\]$/.test(segment)) return 'iteration';
  if (segment.startsWith('for-loop') || segment.startsWith('parallelfor')) return 'loop';
  if (segment.startsWith('condition') || segment.startsWith('exit-handler')) return 'condition';
  return 'dag';
}

function groupLabel(segment) {
  const kind = groupKind(segment);
  if (kind === 'iteration') return `iteration ${segment.match(/\[(\d+)\]$/)[1]}`;
  if (kind === 'loop') return `loop: ${segment}`;
  if (kind === 'condition') return `${segment.startsWith('exit') ? 'exit handler' : 'condition'}: ${segment}`;
  return segment;
}

// Loop iterations sit inside their loop: "a/for-loop-2[3]" lies in "a/for-loop-2".
function groupsOf(stepId) {
  const parts = stepId.split('/');
  const groups = [];
  let path = '';
  for (const part of parts.slice(0, -1)) {
    const loop = part.match(/^(.*)\[\d+\]$/);
    if (loop) {
      const loopPath = path ? `${path}/${loop[1]}` : loop[1];
      if (groups[groups.length - 1]?.id !== `g:${loopPath}`) {
        groups.push({ id: `g:${loopPath}`, segment: loop[1] });
      }
    }
    path = path ? `${path}/${part}` : part;
    groups.push({ id: `g:${path}`, segment: part });
  }
  return groups;
}

export function elements(steps, lineage) {
  const nodes = new Map();
  for (const step of steps) {
    let parent;
    for (const group of groupsOf(step.step_id)) {
      if (!nodes.has(group.id)) {
        nodes.set(group.id, {
          data: { id: group.id, label: groupLabel(group.segment), parent, group: groupKind(group.segment) },
          classes: `group ${groupKind(group.segment)}`,
        });
      }
      parent = group.id;
    }
    nodes.set(`s:${step.step_id}`, {
      data: {
        id: `s:${step.step_id}`,
        step: step.step_id,
        label: step.task_name || step.step_id,
        state: step.state,
        colour: STATE_COLOURS[step.state] || '#c9ced6',
        parent,
      },
      classes: 'step',
    });
  }
  const edges = new Map();
  if (lineage) {
    const producer = new Map();
    for (const edge of lineage.edges || []) {
      if (edge.kind === 'OUTPUT') producer.set(edge.target, edge.source);
    }
    for (const edge of lineage.edges || []) {
      if (edge.kind !== 'INPUT') continue;
      const from = producer.get(edge.source);
      if (!from) continue;
      const source = `s:${from.replace(/^execution:[^/]*\//, '')}`;
      const target = `s:${edge.target.replace(/^execution:[^/]*\//, '')}`;
      if (source === target || !nodes.has(source) || !nodes.has(target)) continue;
      edges.set(`${source}->${target}`, {
        data: { id: `${source}->${target}`, source, target, label: edge.port || '' },
      });
    }
  }
  return [...nodes.values(), ...edges.values()];
}
