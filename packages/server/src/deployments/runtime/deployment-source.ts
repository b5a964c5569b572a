/**
 * What the runtime reads deployments from: the deployment service, or in tests any object that lists
 * deployments.
 */
import type { Deployment } from '@keel/core';

/**
 * The part of the deployment service the runtime uses: the current revision of every deployment.
 * @example const source: DeploymentSource = services.deployments;
 */
export interface DeploymentSource {
  list(): Promise<Deployment[]>;
}
