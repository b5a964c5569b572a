/** Source of "now" in epoch milliseconds; tests pass a fixed clock. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
