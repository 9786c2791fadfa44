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

// A step id without its loop iteration indexes: "for-loop-2[3]/train" -> "for-loop-2/train".
export const templatePath = (stepId) => stepId.replace(/\[\d+\]/g, '');

// Tasks of the pipeline (GET /runs/{id}/graph) with no step yet, as pending steps.
export function pendingSteps(steps, template) {
  const started = new Set(steps.map((s) => templatePath(s.step_id)));
  return (template?.tasks || [])
    .filter((t) => ['container', 'importer'].includes(t.kind) && !started.has(t.path))
    .map((t) => ({ step_id: t.path, task_name: t.name, kind: t.kind, state: 'PENDING', pending: true }));
}

function node(nodes, step) {
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
    classes: step.pending ? 'step pending' : 'step',
  });
}

// steps: the run's steps and the pending ones; template: the pipeline's tasks (or null);
// lineage: the run's lineage graph (or null).
export function elements(steps, lineage, template) {
  const nodes = new Map();
  for (const step of steps) node(nodes, step);
  const edges = new Map();
  const edge = (source, target, label = '') => {
    if (source === target || !nodes.has(source) || !nodes.has(target)) return;
    edges.set(`${source}->${target}`, { data: { id: `${source}->${target}`, source, target, label } });
  };
  // The pipeline's order: each task's nodes (its steps, or its group's boxes) after those of
  // the tasks it waits for.
  if (template) {
    const byPath = new Map();
    const add = (path, id) => byPath.set(path, [...(byPath.get(path) || []), id]);
    for (const id of nodes.keys()) {
      if (id.startsWith('s:')) add(templatePath(id.slice(2)), id);
      else if (!/\]$/.test(id)) add(id.slice(2), id); // a group, but not one iteration
    }
    for (const task of template.tasks) {
      for (const up of task.upstream) {
        for (const source of byPath.get(up) || []) {
          for (const target of byPath.get(task.path) || []) edge(source, target);
        }
      }
    }
  }
  // What the lineage adds: a step that read an artifact another wrote.
  if (lineage) {
    const producer = new Map();
    for (const e of lineage.edges || []) if (e.kind === 'OUTPUT') producer.set(e.target, e.source);
    for (const e of lineage.edges || []) {
      if (e.kind !== 'INPUT' || !producer.has(e.source)) continue;
      const from = producer.get(e.source).replace(/^execution:[^/]*\//, '');
      const to = e.target.replace(/^execution:[^/]*\//, '');
      if (!edges.has(`s:${from}->s:${to}`)) edge(`s:${from}`, `s:${to}`, e.port || '');
    }
  }
  return [...nodes.values(), ...edges.values()];
}
