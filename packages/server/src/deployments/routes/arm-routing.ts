/**
 * Which arm of a deployment answers a call (serving-and-monitoring.md §3.3): an explicit model version,
 * then the sticky route header, then the caller's routing key, then a weighted random draw. Pure
 * functions; the routes read the headers and pass the random source.
 */
import { createHash } from 'node:crypto';
import { notFound } from '@keel/core';

/**
 * Response header naming the arm that answered; a request that sends it back is served by that arm
 * while the deployment still has it (Seldon's `x-seldon-route`).
 */
export const ROUTE_HEADER = 'x-keel-route';

/**
 * Request header carrying a caller's assignment key (a user id, a session, a tenant): requests with the
 * same key go to the same arm for as long as the deployment's arms and weights stay the same, so a
 * cohort sees one model. Keys are spread over the arms in proportion to their weights.
 */
export const ROUTING_KEY_HEADER = 'x-keel-routing-key';

/** What routing needs to know about an arm. */
export interface RoutableArm {
  readonly name: string;
  /** Relative share of the traffic, ≥ 0. */
  readonly weight: number;
  readonly modelVersion: string;
}

/** What a call asks of the routing; every field is optional. */
export interface RouteRequest {
  /** An explicit model version (`/v2/models/{name}/versions/{version}/…`): only arms serving it answer. */
  version?: string | undefined;
  /** The {@link ROUTE_HEADER} the caller sent back. */
  route?: string | undefined;
  /** The {@link ROUTING_KEY_HEADER} the caller sent. */
  routingKey?: string | undefined;
}

/**
 * Chooses the arm that answers a call of `deployment`:
 *
 * 1. with a `version`, only the arms serving that model version are candidates (none → 404
 *    RESOURCE_DOES_NOT_EXIST);
 * 2. a `route` naming a candidate picks it, whatever its weight (so an arm at weight 0 can be tried by
 *    asking for it); a name the deployment no longer has is ignored;
 * 3. a `routingKey` picks by a hash of the deployment name and the key, in proportion to the weights:
 *    deterministic while the arms and weights stay the same;
 * 4. otherwise a weighted draw with `random()` (weights are relative; arms at weight 0 get nothing).
 *
 * When every candidate weighs 0 (a version pinned to an arm taken out of rotation), they share equally.
 *
 * @throws RESOURCE_DOES_NOT_EXIST when no arm serves `version` (or the deployment has no arm).
 *
 * @example
 * const arms = [{ name: 'main', weight: 90, modelVersion: '3' }, { name: 'canary', weight: 10, modelVersion: '4' }];
 * chooseArm('fraud', arms, { route: 'canary' }, Math.random).name; // 'canary'
 * chooseArm('fraud', arms, { version: '3' }, Math.random).name; // 'main'
 */
export function chooseArm<A extends RoutableArm>(
  deployment: string,
  arms: readonly A[],
  request: RouteRequest,
  random: () => number,
): A {
  const { route, routingKey } = request;
  const candidates = armsServing(deployment, arms, request.version);
  if (route !== undefined) {
    const pinned = candidates.find((arm) => arm.name === route);
    if (pinned !== undefined) return pinned;
  }
  const point = routingKey === undefined ? random() : routingKeyPoint(deployment, routingKey);
  return weightedChoice(candidates, point);
}

/**
 * The arms serving model version `version` (all of them when it is `undefined`).
 *
 * @throws RESOURCE_DOES_NOT_EXIST when there are none.
 */
export function armsServing<A extends RoutableArm>(
  deployment: string,
  arms: readonly A[],
  version: string | undefined,
): readonly A[] {
  const serving = version === undefined ? arms : arms.filter((arm) => arm.modelVersion === version);
  if (serving.length > 0) return serving;
  throw notFound(
    version === undefined
      ? `Deployment '${deployment}' has no route`
      : `Deployment '${deployment}' serves no model version '${version}'; it serves [${[...new Set(arms.map((arm) => arm.modelVersion))].join(', ')}]`,
  );
}

/**
 * The arm at `point` (in [0, 1)) of the weights laid end to end, in the arms' order; arms of weight 0
 * take no room, unless every arm weighs 0 (then all take the same room).
 *
 * @example
 * weightedChoice([{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }], 0.8).name; // 'b'
 */
export function weightedChoice<A extends Pick<RoutableArm, 'weight'>>(arms: readonly A[], point: number): A {
  const weightOf = (arm: A) => (Number.isFinite(arm.weight) && arm.weight > 0 ? arm.weight : 0);
  let total = 0;
  for (const arm of arms) total += weightOf(arm);
  const even = total === 0;
  if (even) total = arms.length;
  const target = Math.min(Math.max(point, 0), 1) * total;
  let reached = 0;
  let last: A | undefined;
  for (const arm of arms) {
    const weight = even ? 1 : weightOf(arm);
    if (weight === 0) continue;
    reached += weight;
    last = arm;
    if (target < reached) return arm;
  }
  // point = 1, or rounding at the end of the range.
  if (last === undefined) throw new RangeError('weightedChoice needs at least one arm');
  return last;
}

/**
 * Where a routing key falls in [0, 1): the first 48 bits of sha256(deployment, key). Salted by the
 * deployment so that a key's cohort in one deployment says nothing about its cohort in another.
 *
 * @example
 * routingKeyPoint('fraud', 'user-42') === routingKeyPoint('fraud', 'user-42'); // true
 */
export function routingKeyPoint(deployment: string, key: string): number {
  const digest = createHash('sha256').update(deployment).update('\0').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
