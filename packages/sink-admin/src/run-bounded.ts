/** Runs `work` over `items` with at most `limit` in flight, in order of start. */
export async function runBounded<T>(items: AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>) {
  const inFlight = new Set<Promise<void>>();
  for await (const item of items) {
    const p: Promise<void> = work(item).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}
