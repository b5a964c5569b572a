/**
 * An artifact store that counts the files read through it, for tests that check what is downloaded
 * (the model cache's reuse of earlier copies).
 */
import type { ArtifactStore } from '../artifacts/artifact-store.js';

/** A store and the paths read through it. */
export interface CountingArtifactStore {
  /** Behaves as the wrapped store; every `get` is noted in {@link reads}. */
  readonly store: ArtifactStore;
  /** Paths passed to `get`, in order. */
  readonly reads: string[];
}

/**
 * Wraps `store` so that every `get` is noted; everything else goes to `store` unchanged.
 *
 * @example
 * const { store, reads } = countingArtifactStore(artifacts);
 * await materializeModel({ store, ... });
 * expect(reads).toHaveLength(2);
 */
export function countingArtifactStore(store: ArtifactStore): CountingArtifactStore {
  const reads: string[] = [];
  const counting = new Proxy(store, {
    get(target, property) {
      if (property === 'get') {
        return (path: string) => {
          reads.push(path);
          return target.get(path);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counting, reads };
}
