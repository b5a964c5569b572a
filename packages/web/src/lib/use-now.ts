/**
 * The current time for components showing something that changes with it (the duration of a
 * running run), from one ticker shared by all of them: it runs while one is mounted, and wakes
 * them all on the same tick.
 */
import { useSyncExternalStore } from 'react';

/** How often a mounted {@link useNow} re-renders its component. */
export const NOW_TICK_MS = 1000;

const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of listeners) notify();
    }, NOW_TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** `Date.now()`, refreshed every {@link NOW_TICK_MS} while the calling component is mounted. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}
