import type { Migration } from 'kysely';
import type { DialectName } from '../dialect.js';
import { initialTrackingSchema } from './0001-tracking.js';
import { runModelLinks } from './0002-run-models.js';
import { registrySchema } from './0003-registry.js';
import { auditLog } from './0004-audit.js';
import { webhookSchema } from './0005-webhooks.js';
import { deploymentSchema } from './0006-deployments.js';
import { predictionSchema } from './0007-predictions.js';
import { lighterPredictionIndexes } from './0008-lighter-prediction-indexes.js';
import { workflowSchema } from './0009-workflows.js';
import { loggedModelSchema } from './0010-logged-models.js';

/**
 * Every migration of the backend store, in order. Names sort lexically; never rename or edit one
 * that has shipped — add a new one.
 */
export function allMigrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001-tracking': initialTrackingSchema(dialect),
    '0002-run-models': runModelLinks(),
    '0003-registry': registrySchema(dialect),
    '0004-audit': auditLog(dialect),
    '0005-webhooks': webhookSchema(dialect),
    '0006-deployments': deploymentSchema(dialect),
    '0007-predictions': predictionSchema(dialect),
    '0008-lighter-prediction-indexes': lighterPredictionIndexes(),
    '0009-workflows': workflowSchema(dialect),
    '0010-logged-models': loggedModelSchema(dialect),
  };
}
