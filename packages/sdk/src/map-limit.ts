/**
 * Runs `task` over `items` with at most `concurrency` tasks in flight, in order of the items.
 * On the first failure no new task starts; the tasks already running are awaited and the first
 * error is thrown (no task is left running in the background).
 *
 * @example
 * await mapLimit(files, 4, (file) => upload(file));
 */
export async function mapLimit<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Invalid concurrency ${concurrency}: expected a positive integer`);
  }
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        await task(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
