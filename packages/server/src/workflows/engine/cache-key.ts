/**
 * Cache keys of task calls (Flyte's memoisation): two calls share a key, and so their outputs,
 * exactly when they run the same task version with the same interface on the same inputs, where
 * a file or directory input counts by its content, not by where it is stored.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, isArtifactValue, type JsonValue, type TaskSpec } from '@keel/core';

/**
 * sha256 (hex) of the canonical JSON of `{ task, version, interface, inputs }`: `version` is the
 * task's `cache.version`, or its code hash when it has none (any code change invalidates), and
 * every ArtifactValue in `inputs` (at any depth) is replaced by its `sha256`.
 *
 * @example
 * cacheKey(fitTask, { train: { $artifact: 'workflows/data/ab…', sha256: 'ab…', kind: 'file' }, alpha: 0.1 });
 * // same key as for any other stored copy of the same training file
 */
export function cacheKey(task: TaskSpec, inputs: Record<string, JsonValue>): string {
  const canonical = canonicalJson({
    task: task.name,
    version: task.cache?.version ?? task.codeHash,
    interface: task.interface,
    inputs: byContent(inputs),
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** `value` with every ArtifactValue replaced by its content hash. */
function byContent(value: JsonValue): JsonValue {
  if (isArtifactValue(value)) return value.sha256;
  if (Array.isArray(value)) return value.map(byContent);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, item === undefined ? item : byContent(item)]),
    );
  }
  return value;
}
