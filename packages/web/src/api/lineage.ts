/**
 * Keel's lineage API (`GET /api/2.0/keel/lineage`, docs/lineage.md): the graph around a model
 * version or a run — its run, experiment, datasets and code version, sibling versions, and the
 * deployments serving it with their prediction counts.
 */
import { keelGet } from './client';

/** Node kinds the server sends today; later issues add more (unknown kinds are shown generically). */
export type LineageNodeKind =
  | 'model_version'
  | 'registered_model'
  | 'run'
  | 'experiment'
  | 'dataset'
  | 'deployment'
  | (string & {});

/** One node: `id` (`<kind>:<natural key>`), `kind`, and the fields of its kind. */
export interface LineageNode {
  id: string;
  kind: LineageNodeKind;
  name?: string;
  version?: string;
  current_stage?: string;
  aliases?: string[];
  run_id?: string;
  run_name?: string;
  status?: string;
  missing?: boolean;
  experiment_id?: string;
  digest?: string;
  context?: string;
  source_type?: string;
  serving?: boolean;
  revision?: number;
  arms?: string[];
  prediction_count?: number;
  code_version?: { git_commit?: string; source_name?: string; source_type?: string };
  [field: string]: unknown;
}

/** One edge, read `from` → `to` (a version is `produced_by` a run; a deployment `serves` a version). */
export interface LineageEdge {
  from: string;
  to: string;
  kind: string;
}

/** The graph around its `root` node. */
export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

/** What to build the graph around: a model version, or a run. */
export type LineageRoot = { model: string; version: string } | { runId: string };

/** `GET lineage?model=&version=` or `?run_id=`. */
export async function getLineage(root: LineageRoot, signal?: AbortSignal): Promise<LineageGraph> {
  const query = 'runId' in root ? { run_id: root.runId } : { model: root.model, version: root.version };
  const answer = await keelGet<Partial<LineageGraph>>('lineage', query, signal);
  return { root: answer.root ?? '', nodes: answer.nodes ?? [], edges: answer.edges ?? [] };
}
