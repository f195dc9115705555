import { assertAlive, type Spawned } from "./spawn-app.js";

/**
 * Polls `check` until it is true; unlike a plain waitFor, a dead `proc` fails at once with its
 * output instead of waiting out the timeout.
 */
export async function waitWhileAlive(
  what: string,
  procs: readonly Spawned[],
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of procs) assertAlive(p);
    if (await check()) return;
    if (Date.now() > deadline) {
      const out = procs.map((p) => `--- ${p.name} output:\n${p.output()}`).join("\n");
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until `url` answers 200. */
export function waitForHttp(url: string, proc: Spawned, timeoutMs = 30_000): Promise<void> {
  return waitWhileAlive(
    `${proc.name} at ${url}`,
    [proc],
    async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
}
