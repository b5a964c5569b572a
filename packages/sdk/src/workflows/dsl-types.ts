/**
 * The shapes the graph builder reads from task, workflow and condition objects. Only plain data
 * and functions are read (never `instanceof`), so objects made by another copy of the SDK — the
 * one bundled into a workflow package — work the same.
 */

import type { TaskSpec, TypedInterface, WorkflowSpec } from '@keel/core';
import type { Ref } from './ref.js';
import type { TaskContext } from './task-context.js';

/** A task as defined in code: its {@link TaskSpec} but the code hash, computed at registration. */
export type TaskDefinition = Omit<TaskSpec, 'codeHash'>;

/** Any task object, whatever its types. */
export interface AnyTask {
  readonly kind: 'keel.task';
  readonly name: string;
  readonly spec: TaskDefinition;
  /** Files shipped with a command task, relative to the registered module's folder. */
  readonly files: readonly string[];
  // biome-ignore lint/suspicious/noExplicitAny: any task's function, whatever its input type
  readonly fn: (inputs: any, ctx: TaskContext) => unknown;
}

/** Any workflow object, whatever its types. */
export interface AnyWorkflow {
  readonly kind: 'keel.workflow';
  readonly name: string;
  readonly interface: TypedInterface;
  readonly spec: WorkflowSpec;
  readonly tasks: readonly AnyTask[];
  readonly subworkflows: readonly AnyWorkflow[];
}

/** Comparison operators of a branch condition. */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** A branch condition as `when()` records it, before the builder checks and binds it. */
export type ConditionExpr =
  | { op: CompareOp; left: unknown; right: unknown }
  | { op: 'and' | 'or'; conditions: ConditionExpr[] }
  | { op: 'not'; condition: ConditionExpr }
  | { op: 'isTrue' | 'isNull'; value: unknown };

/** Options of a map node, as `map()` received them. */
export interface MapSettings {
  over: readonly string[];
  concurrency?: number | undefined;
}

/** What `when(…).then()` returns to the DSL: the else arm can still be added. */
export interface BranchHandle {
  otherwise(arm: () => unknown): Record<string, Ref>;
}

/**
 * The graph builder of the workflow body being run. Task calls, `map` and `when` reach it through
 * a `Symbol.for` global slot, so every copy of the SDK finds the same builder.
 */
export interface GraphBuilderPort {
  callTask(task: AnyTask, args: unknown): Record<string, Ref>;
  mapTask(task: AnyTask, args: unknown, settings: MapSettings): Record<string, Ref>;
  callWorkflow(workflow: AnyWorkflow, args: unknown): Record<string, Ref>;
  branch(condition: ConditionExpr, arm: () => unknown): BranchHandle;
}
