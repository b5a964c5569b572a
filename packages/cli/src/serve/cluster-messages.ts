/** Messages a worker sends its primary over the cluster's IPC channel. */
export type WorkerMessage =
  /** Listening; `port` is the bound port (the one the primary announces for `--port 0`). */
  | { type: 'keel:ready'; port: number }
  /** Could not start; the primary prints `message` and does not re-fork in a loop. */
  | { type: 'keel:fatal'; message: string };

/** Messages the primary sends a worker. */
export type PrimaryMessage = { type: 'keel:shutdown' };

/** Narrows an IPC payload to a {@link WorkerMessage}. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'keel:ready' || type === 'keel:fatal';
}

/** Narrows an IPC payload to a {@link PrimaryMessage}. */
export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return (
    typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'keel:shutdown'
  );
}
