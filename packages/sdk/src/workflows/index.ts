/**
 * Workflow authoring: typed tasks (`task`, `command`), workflows wiring them by data flow
 * (`workflow`, `map`, `when`), their registration (`deriveRegistration`, `bundleWorkflowModule`,
 * `registerWorkflow`) and what the engine gives a running task (`TaskContext`, `RetryableError`).
 */
export {
  type BundleWorkflowOptions,
  bundleWorkflowModule,
  collectEntities,
  type PackageFile,
  packageHash,
  WORKFLOW_BUNDLE_FILE,
  WORKFLOW_EXTERNAL_PACKAGES,
  WORKFLOW_FILES_DIR,
  type WorkflowPackage,
} from './bundle-workflow.js';
export {
  COMMAND_RETRY_EXIT_CODE,
  type CommandOptions,
  type CommandOutputType,
  command,
} from './command.js';
export { type DeriveRegistrationOptions, deriveRegistration, taskCodeHash } from './derive-registration.js';
export type { AnyTask, AnyWorkflow, TaskDefinition } from './dsl-types.js';
export { type MapArgs, type MapOptions, type MapOutputs, map } from './map.js';
export { type Accepts, type Arg, type Args, isRef, type JsonArg, type Ref, type Refs } from './ref.js';
export {
  type RegisteredWorkflow,
  type RegisterWorkflowOptions,
  registerWorkflow,
  WORKFLOW_CODE_ROOT,
  WORKFLOWS_API_PREFIX,
} from './register-workflow.js';
export { isRetryableError, RetryableError } from './retryable-error.js';
export { type Task, type TaskCall, type TaskFunction, type TaskOptions, task } from './task.js';
export type { TaskContext, TaskLogger, TaskRunContext } from './task-context.js';
export {
  type Fields,
  type InputValues,
  type OptionalKeys,
  type OutputValues,
  t,
  type ValueOf,
} from './type-builders.js';
export {
  type ArmResult,
  type Branch,
  type BranchOutputs,
  type Comparable,
  WhenCondition,
  type WhenOperand,
  when,
} from './when.js';
export {
  type Workflow,
  type WorkflowArgs,
  type WorkflowDefaults,
  type WorkflowOptions,
  type WorkflowOutputs,
  type WorkflowResult,
  workflow,
} from './workflow.js';
