import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/actor.js';
import { type AnyRpc, KEEL_PREFIXES, rpc } from '../http/rpc.js';
import type { DeploymentService } from '../services/deployments/deployment-service.js';

/** The deployment's name; required, so `''` is reported as missing. */
const Name = { name: Type.String() };

/**
 * Keel's deployment RPCs under `/api/2.0/keel/deployments/…` (and the UI's `/ajax-api/2.0/keel`):
 * `create` (POST), `get` and `list` (GET), `update` (PATCH or POST), `delete` (DELETE),
 * `revisions` and `get-revision` (GET), `rollback` (POST). The spec is validated by the service
 * (`parseDeploymentSpec`), whose errors name the field, e.g. `spec.routes[1].weight`.
 */
export function deploymentRpcs(deployments: DeploymentService): AnyRpc[] {
  return [
    rpc({
      methods: ['POST'],
      path: '/deployments/create',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({
        ...Name,
        spec: Type.Unknown(),
        description: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        deployment: await deployments.create(actorOf(context), {
          name: m.name,
          spec: m.spec,
          ...(m.description !== undefined ? { description: m.description } : {}),
        }),
      }),
    }),
    rpc({
      methods: ['GET'],
      path: '/deployments/get',
      prefixes: KEEL_PREFIXES,
      request: Type.Object(Name),
      handler: async (m) => ({ deployment: await deployments.get(m.name) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/deployments/list',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({}),
      handler: async () => ({ deployments: await deployments.list() }),
    }),
    rpc({
      methods: ['PATCH', 'POST'],
      path: '/deployments/update',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({
        ...Name,
        spec: Type.Optional(Type.Unknown()),
        description: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        deployment: await deployments.update(actorOf(context), m.name, {
          ...(m.spec !== undefined ? { spec: m.spec } : {}),
          ...(m.description !== undefined ? { description: m.description } : {}),
        }),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/deployments/delete',
      prefixes: KEEL_PREFIXES,
      request: Type.Object(Name),
      handler: async (m, context) => {
        await deployments.delete(actorOf(context), m.name);
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/deployments/revisions',
      prefixes: KEEL_PREFIXES,
      request: Type.Object(Name),
      handler: async (m) => ({ revisions: await deployments.revisions(m.name) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/deployments/get-revision',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({ ...Name, revision: Type.Integer() }),
      handler: async (m) => ({ revision: await deployments.getRevision(m.name, m.revision) }),
    }),
    rpc({
      methods: ['POST'],
      path: '/deployments/rollback',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({ ...Name, revision: Type.Integer() }),
      handler: async (m, context) => ({
        deployment: await deployments.rollback(actorOf(context), m.name, m.revision),
      }),
    }),
  ];
}
