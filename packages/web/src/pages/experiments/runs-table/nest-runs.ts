/**
 * Groups nested runs under their parents (the `mlflow.parentRunId` tag), for the rows the table has
 * loaded so far: a child whose parent is loaded follows it, indented; a child whose parent is not
 * (filtered out, or on a later page) stays at the top level.
 */
import { type Run, TAG_PARENT_RUN_ID } from '@keel/core';

/** One displayed row of the runs table. */
export interface RunRow {
  run: Run;
  /** 0 for a top-level run, 1 for a child of a displayed run, … */
  depth: number;
  /** Loaded children of this run (shown or collapsed). */
  childCount: number;
  /** The parent run id from the tag, when the run has one. */
  parentRunId: string | undefined;
}

/** The `mlflow.parentRunId` tag of a run. */
export function parentRunIdOf(run: Run): string | undefined {
  return run.data.tags?.find((tag) => tag.key === TAG_PARENT_RUN_ID)?.value;
}

/**
 * Orders `runs` (in their server order) as a tree: each top-level run, then its children depth
 * first, skipping the children of runs in `collapsed`. Linear in the number of runs.
 *
 * @example
 * nestRuns([parent, other, child], new Set()); // rows: parent (0), child (1), other (0)
 */
export function nestRuns(runs: readonly Run[], collapsed: ReadonlySet<string>): RunRow[] {
  const parentOf = loadedParents(runs);
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const run of runs) {
    const parent = parentOf.get(run.info.run_id);
    if (parent === undefined) {
      roots.push(run);
      continue;
    }
    const siblings = children.get(parent);
    if (siblings === undefined) children.set(parent, [run]);
    else siblings.push(run);
  }
  const rows: RunRow[] = [];
  const visit = (run: Run, depth: number): void => {
    const id = run.info.run_id;
    const kids = children.get(id) ?? [];
    rows.push({ run, depth, childCount: kids.length, parentRunId: parentRunIdOf(run) });
    if (collapsed.has(id)) return;
    for (const kid of kids) visit(kid, depth + 1);
  };
  for (const run of roots) visit(run, 0);
  return rows;
}

/**
 * Run id → parent run id, for runs whose parent is loaded and whose chain of parents ends at a
 * top-level run. A chain that loops (tags can say anything) is cut: its runs count as top-level.
 */
function loadedParents(runs: readonly Run[]): Map<string, string> {
  const tagged = new Map<string, string>();
  const ids = new Set(runs.map((run) => run.info.run_id));
  for (const run of runs) {
    const parent = parentRunIdOf(run);
    if (parent !== undefined && parent !== run.info.run_id && ids.has(parent))
      tagged.set(run.info.run_id, parent);
  }
  const rooted = new Map<string, boolean>();
  for (const id of tagged.keys()) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let current: string | undefined = id;
    let verdict = true;
    while (current !== undefined) {
      const known = rooted.get(current);
      if (known !== undefined) {
        verdict = known;
        break;
      }
      if (onPath.has(current)) {
        verdict = false;
        break;
      }
      onPath.add(current);
      path.push(current);
      current = tagged.get(current);
    }
    for (const step of path) rooted.set(step, verdict);
  }
  const parents = new Map<string, string>();
  for (const [id, parent] of tagged) if (rooted.get(id)) parents.set(id, parent);
  return parents;
}
