/**
 * Polls `check` until it gives a value (work a job or the outbox does in the background), failing
 * after `ms`: a bounded wait for a condition, not a sleep that guesses.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
