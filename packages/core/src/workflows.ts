/**
 * Workflows: typed tasks and DAGs (issue 7). The types and wire shapes are in `workflow-spec.ts`,
 * type checks of values in `workflow-values.ts`, shape parsing in `workflow-parse.ts` and the
 * whole-registration checks in `workflow-validation.ts`; this module gathers their public parts.
 */

export { validateWorkflowName, validateWorkflowVersion } from './workflow-parse.js';
export * from './workflow-spec.js';
export { canonicalWorkflowJson, validateWorkflowRegistration } from './workflow-validation.js';
export {
  checkValue,
  formatType,
  isArtifactValue,
  parseTypedInterface,
  parseTypeSpec,
  typeAccepts,
  type ValueUse,
} from './workflow-values.js';
