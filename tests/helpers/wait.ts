/**
 * Waiting for conditions in tests with a deadline, never "sleep and hope":
 * every loop is bounded and fails with a message saying what never happened.
 */

/**
 * Calls `attempt` until it returns a value other than undefined, at most
 * until `deadlineMs` from now, pausing `pauseMs` between attempts.
 */
export async function waitFor<T>(
  what: string,
  attempt: () => Promise<T | undefined> | T | undefined,
  deadlineMs = 5000,
  pauseMs = 20,
): Promise<T> {
  const end = performance.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await attempt();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() >= end) {
      throw new Error(
        `timed out after ${deadlineMs}ms waiting for ${what}` +
          (last ? `: ${last instanceof Error ? last.message : last}` : ""),
      );
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Runs `fn` and returns its result with the elapsed wall time in ms. */
export async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}
