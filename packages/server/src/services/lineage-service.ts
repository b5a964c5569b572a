import { invalidParameter, KeelError, parseModelUri, type Run, TAG_DATASET_CONTEXT } from '@keel/core';
import type { StoredModelVersion } from '../store/registry-store.js';
import type { RegistryService } from './registry/registry-service.js';
import { toWireVersion } from './registry/registry-wire.js';
import type { ExperimentService } from './tracking/experiment-service.js';
import type { RunService } from './tracking/run-service.js';

/** Kinds of node in a lineage graph. */
export type LineageNodeKind =
  | 'model_version'
  | 'registered_model'
  | 'run'
  | 'experiment'
  | 'dataset'
  | 'deployment';
/** Kinds of edge: `from` → `to` reads "from <kind> to" (a version is produced_by a run). */
export type LineageEdgeKind =
  | 'produced_by'
  | 'in_experiment'
  | 'consumed'
  | 'version_of'
  | 'sibling_version'
  | 'serves';

/** One node; besides `id` and `kind` it carries the fields of its kind (see docs/lineage.md). */
export interface LineageNode {
  id: string;
  kind: LineageNodeKind;
  [field: string]: unknown;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: LineageEdgeKind;
}

/** The graph around a model version or a run. */
export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

/** Everything the lineage service reads. */
export interface LineageServiceOptions {
  registry: RegistryService;
  runs: RunService;
  experiments: ExperimentService;
  /** Prediction counts per deployment of a version (downstream lineage). @default none: no deployment nodes from records */
  predictions?: {
    countsByModelVersion(name: string, version: string): Promise<{ deployment: string; count: number }[]>;
  };
  /** The deployments, to show which ones serve a version now. @default none */
  deployments?: { list(): Promise<readonly LineageDeployment[]> };
}

/** What the lineage reads of a deployment: its name, revision and the models its arms name. */
export interface LineageDeployment {
  name: string;
  revision: number;
  spec: { routes: readonly { name: string; model: string }[]; shadow?: { model: string } | null };
}

/** Stable node ids: `<kind>:<natural key>`. */
export const lineageId = {
  version: (name: string, version: number | string) => `model_version:${name}/${version}`,
  model: (name: string) => `registered_model:${name}`,
  run: (runId: string) => `run:${runId}`,
  experiment: (id: string) => `experiment:${id}`,
  dataset: (name: string, digest: string) => `dataset:${name}@${digest}`,
  deployment: (name: string) => `deployment:${name}`,
};

/**
 * Builds lineage graphs: a model version → its registered model, its source run → the run's
 * experiment, parameters, code version and input datasets → the other versions made from the
 * same run. Downstream, a model version → the deployments that serve it now (`serving: true`,
 * with the `arms` naming it) or have served it (prediction records), each with its
 * `prediction_count` for that version; edges read `deployment serves model_version`. Read-only;
 * a run that was purged appears as a node with `missing: true`.
 */
export class LineageService {
  constructor(private readonly options: LineageServiceOptions) {}

  /** The graph rooted at a model version. */
  async ofModelVersion(name: string, version: string): Promise<LineageGraph> {
    const root = await this.options.registry.requireStoredVersion(name, version);
    const graph = new GraphBuilder(lineageId.version(root.name, root.version));
    addVersion(graph, root);
    if (root.run_id !== null) {
      await this.addRun(graph, root.run_id);
      graph.edge(graph.root, lineageId.run(root.run_id), 'produced_by');
      for (const sibling of await this.options.registry.versionsOfRun(root.run_id)) {
        if (sibling.name === root.name && sibling.version === root.version) continue;
        addVersion(graph, sibling);
        graph.edge(
          lineageId.version(sibling.name, sibling.version),
          lineageId.run(root.run_id),
          'produced_by',
        );
        graph.edge(graph.root, lineageId.version(sibling.name, sibling.version), 'sibling_version');
      }
    }
    await this.addDeployments(graph, root.name, String(root.version));
    return graph.build();
  }

  /** The graph rooted at a run: its experiment, inputs, and every version registered from it. */
  async ofRun(runId: string): Promise<LineageGraph> {
    await this.options.runs.requireRun(runId);
    const graph = new GraphBuilder(lineageId.run(runId));
    await this.addRun(graph, runId);
    for (const version of await this.options.registry.versionsOfRun(runId)) {
      addVersion(graph, version);
      graph.edge(lineageId.version(version.name, version.version), graph.root, 'produced_by');
    }
    return graph.build();
  }

  /** The deployments serving (now or in their prediction records) one version, with their counts. */
  private async addDeployments(graph: GraphBuilder, name: string, version: string): Promise<void> {
    const serving = new Map<string, { revision: number; arms: string[] }>();
    for (const deployment of (await this.options.deployments?.list()) ?? []) {
      const arms = [
        ...deployment.spec.routes.map((route) => ({ arm: route.name, model: route.model })),
        ...(deployment.spec.shadow ? [{ arm: 'shadow', model: deployment.spec.shadow.model }] : []),
      ];
      for (const { arm, model } of arms) {
        if (!(await this.resolvesTo(model, name, version))) continue;
        const entry = serving.get(deployment.name) ?? { revision: deployment.revision, arms: [] };
        entry.arms.push(arm);
        serving.set(deployment.name, entry);
      }
    }
    const counts = new Map(
      ((await this.options.predictions?.countsByModelVersion(name, version)) ?? []).map((c) => [
        c.deployment,
        c.count,
      ]),
    );
    const names = [...new Set([...serving.keys(), ...counts.keys()])].sort();
    for (const deployment of names) {
      const now = serving.get(deployment);
      const id = lineageId.deployment(deployment);
      graph.node({
        id,
        kind: 'deployment',
        name: deployment,
        serving: now !== undefined,
        ...(now !== undefined ? { revision: now.revision, arms: now.arms } : {}),
        prediction_count: counts.get(deployment) ?? 0,
      });
      graph.edge(id, graph.root, 'serves');
    }
  }

  /** Whether a deployment arm's `models:/` URI names this version now (unresolvable: no). */
  private async resolvesTo(uri: string, name: string, version: string): Promise<boolean> {
    try {
      const parsed = parseModelUri(uri);
      if (parsed.kind === 'run' || parsed.kind === 'logged' || parsed.name !== name) return false;
      const resolved = await this.options.registry.resolveModelUri(uri);
      return String(resolved.version) === version;
    } catch {
      return false;
    }
  }

  private async addRun(graph: GraphBuilder, runId: string): Promise<void> {
    let run: Run;
    try {
      run = await this.options.runs.get(runId);
    } catch (error) {
      if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') {
        graph.node({ id: lineageId.run(runId), kind: 'run', run_id: runId, missing: true });
        return;
      }
      throw error;
    }
    const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
    const runNode = lineageId.run(runId);
    graph.node({
      id: runNode,
      kind: 'run',
      run_id: runId,
      run_name: run.info.run_name,
      status: run.info.status,
      lifecycle_stage: run.info.lifecycle_stage,
      start_time: run.info.start_time,
      end_time: run.info.end_time,
      user_id: tags.get('mlflow.user') ?? run.info.user_id,
      artifact_uri: run.info.artifact_uri,
      params: run.data.params ?? [],
      code_version: {
        git_commit: tags.get('mlflow.source.git.commit'),
        source_name: tags.get('mlflow.source.name'),
        source_type: tags.get('mlflow.source.type'),
      },
    });
    const experiment = await this.options.experiments.get(run.info.experiment_id);
    const experimentNode = lineageId.experiment(run.info.experiment_id);
    graph.node({
      id: experimentNode,
      kind: 'experiment',
      experiment_id: run.info.experiment_id,
      name: experiment.name,
      lifecycle_stage: experiment.lifecycleStage,
    });
    graph.edge(runNode, experimentNode, 'in_experiment');
    for (const input of run.inputs.dataset_inputs ?? []) {
      const d = input.dataset;
      const id = lineageId.dataset(d.name, d.digest);
      graph.node({
        id,
        kind: 'dataset',
        name: d.name,
        digest: d.digest,
        source_type: d.source_type,
        source: d.source,
        context: input.tags?.find((t) => t.key === TAG_DATASET_CONTEXT)?.value,
      });
      graph.edge(runNode, id, 'consumed');
    }
  }
}

function addVersion(graph: GraphBuilder, version: StoredModelVersion): void {
  const wire = toWireVersion(version);
  graph.node({
    id: lineageId.version(version.name, version.version),
    kind: 'model_version',
    name: wire.name,
    version: wire.version,
    current_stage: wire.current_stage,
    aliases: wire.aliases ?? [],
    source: wire.source,
    run_id: wire.run_id,
    creation_timestamp: wire.creation_timestamp,
  });
  graph.node({ id: lineageId.model(version.name), kind: 'registered_model', name: version.name });
  graph.edge(lineageId.version(version.name, version.version), lineageId.model(version.name), 'version_of');
}

class GraphBuilder {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly edges = new Map<string, LineageEdge>();

  constructor(readonly root: string) {}

  node(node: LineageNode): void {
    if (!this.nodes.has(node.id)) this.nodes.set(node.id, node);
  }

  edge(from: string, to: string, kind: LineageEdgeKind): void {
    this.edges.set(`${from}\u0000${to}\u0000${kind}`, { from, to, kind });
  }

  build(): LineageGraph {
    return { root: this.root, nodes: [...this.nodes.values()], edges: [...this.edges.values()] };
  }
}

/** Checks that a lineage request names exactly one root. */
export function lineageRootOf(query: {
  model?: string;
  version?: string;
  run_id?: string;
}): { kind: 'run'; runId: string } | { kind: 'model_version'; model: string; version: string } {
  if (query.run_id !== undefined && query.model === undefined && query.version === undefined) {
    return { kind: 'run', runId: query.run_id };
  }
  if (query.run_id === undefined && query.model !== undefined && query.version !== undefined) {
    return { kind: 'model_version', model: query.model, version: query.version };
  }
  throw invalidParameter("Pass either 'model' and 'version', or 'run_id'");
}
