/**
 * htpasswd auth under hostile clients, against the running registry process (issue 16, finding
 * 4): a wrong password costs the same for a known and an unknown user, a wrong-password flood
 * runs bcrypt off the event loop (figures printed: /healthz and remembered-credential latency
 * with and without the flood), and an address past its failed-attempt limit gets 429 with
 * Retry-After. Loopback only; the load is tunable (BERTH_AUTH_FLOOD_REQUESTS per connection).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { freePort } from "@berth/testing";
import { type ManagedProcess, ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import bcrypt from "bcryptjs";

/** The cost `htpasswd -B -C 10` writes, and what the finding measured (91 ms per compare). */
const COST = 10;
const PAIRS = Number(process.env.BERTH_AUTH_TIMING_PAIRS ?? 16);
const FLOOD_CONNECTIONS = 16;
const FLOOD_REQUESTS = Number(process.env.BERTH_AUTH_FLOOD_REQUESTS ?? 2);

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

async function timed(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number; res: Response }> {
  const started = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started, res };
}

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
const fmt = (xs: number[]) => `p50 ${median(xs).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms (n=${xs.length})`;

/** CPU seconds of a process's main thread and of all its threads (Linux /proc). */
function cpuSeconds(pid: number): { main: number; all: number } {
  const ticks = (stat: string) => {
    // Fields after the parenthesised command name: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  };
  const hz = 100;
  return {
    main: ticks(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")) / hz,
    all: ticks(readFileSync(`/proc/${pid}/stat`, "utf8")) / hz,
  };
}

describe("registry htpasswd under abuse (running process)", () => {
  const group = new ProcessGroup();
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;

  async function startRegistry(name: string, failedAttempts: { limit: number; window: string }): Promise<{ url: string; proc: ManagedProcess }> {
    const port = await freePort();
    const config = await writeJsonFile(tmp.path, `${name}.json`, {
      storage: { rootDirectory: `${tmp.path}/${name}` },
      http: { address: "127.0.0.1", port, auth: { htpasswd: { path: "htpasswd" }, bcryptWorkers: 2, failedAttempts } },
      log: { level: "warn" },
    });
    const proc = await group.start({ name, script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    return { url: `http://127.0.0.1:${port}`, proc };
  }

  before(async () => {
    tmp = await makeTempDir("auth-abuse");
    const entries = await Promise.all(
      ["alice", "bob"].map(async (u) => `${u}:${(await bcrypt.hash(`${u}-pw`, COST)).replace(/^\$2b\$/, "$2y$")}`),
    );
    await writeFile(`${tmp.path}/htpasswd`, `${entries.join("\n")}\n`);
  });

  after(async () => {
    await group.stopAll();
    await tmp?.remove();
  });

  describe("without a practical failure limit", () => {
    let url: string;
    let proc: ManagedProcess;
    before(async () => {
      ({ url, proc } = await startRegistry("unlimited", { limit: 1_000_000, window: "1m" }));
    });

    test("a wrong password costs the same for a known and an unknown user (within 20 %)", async () => {
      const known: number[] = [];
      const unknown: number[] = [];
      const ratios: number[] = [];
      // Both bcrypt threads compiled before measuring.
      await Promise.all([timed(`${url}/v2/`, basic("alice", "warm-up")), timed(`${url}/v2/`, basic("nobody", "warm-up"))]);
      for (let i = 0; i < PAIRS; i++) {
        // The two of a pair run at once, one on each of the registry's two bcrypt threads, so
        // both meet the same load from the rest of a shared machine; their ratio is what the
        // user name alone changes. Before the fix it was about 0.01 (0.8 ms vs 91 ms).
        const [k, u] = await Promise.all([
          timed(`${url}/v2/`, basic("alice", `wrong-${i}`)),
          timed(`${url}/v2/`, basic(`nobody-${i}`, `wrong-${i}`)),
        ]);
        assert.deepEqual([k.status, u.status], [401, 401]);
        known.push(k.ms);
        unknown.push(u.ms);
        ratios.push(u.ms / k.ms);
      }
      const ratio = median(ratios);
      const gap = Math.abs(median(known) - median(unknown)) / Math.max(median(known), median(unknown));
      console.log(
        `wrong password, cost ${COST}: known user ${fmt(known)}; unknown user ${fmt(unknown)}; medians differ by ${(gap * 100).toFixed(1)} %; ` +
          `median of paired ratios unknown/known ${ratio.toFixed(2)}`,
      );
      assert.ok(ratio >= 0.8 && ratio <= 1.25, `unknown/known paired ratio ${ratio.toFixed(2)}: ${JSON.stringify(ratios.map((x) => +x.toFixed(2)))}`);
    });

    test("a wrong-password flood runs bcrypt off the event loop; /healthz and remembered users keep being served", async () => {
      assert.equal((await timed(`${url}/v2/`, basic("bob", "bob-pw"))).status, 200, "bob is now remembered");
      const probe = async (samples: { healthz: number[]; valid: number[] }) => {
        const h = await timed(`${url}/healthz`);
        const v = await timed(`${url}/v2/`, basic("bob", "bob-pw"));
        assert.equal(h.status, 200);
        assert.equal(v.status, 200);
        samples.healthz.push(h.ms);
        samples.valid.push(v.ms);
      };
      const quiet = { healthz: [] as number[], valid: [] as number[] };
      for (let i = 0; i < 30; i++) await probe(quiet);

      const pid = proc.pid;
      assert.ok(pid !== undefined);
      const cpuBefore = cpuSeconds(pid);
      let flooding = true;
      const statuses: number[] = [];
      const flood = Promise.all(
        Array.from({ length: FLOOD_CONNECTIONS }, async (_, c) => {
          for (let i = 0; i < FLOOD_REQUESTS; i++) statuses.push((await timed(`${url}/v2/`, basic("alice", `guess-${c}-${i}`))).status);
        }),
      ).finally(() => {
        flooding = false;
      });
      const loud = { healthz: [] as number[], valid: [] as number[] };
      // Paced (one probe pair per 20 ms at most), so the probes' own CPU stays small beside the flood's.
      while (flooding) await Promise.all([probe(loud), new Promise((r) => setTimeout(r, 20))]);
      await flood;
      const cpuAfter = cpuSeconds(pid);
      const main = cpuAfter.main - cpuBefore.main;
      const all = cpuAfter.all - cpuBefore.all;

      console.log(`quiet:  /healthz ${fmt(quiet.healthz)}; remembered user ${fmt(quiet.valid)}`);
      console.log(
        `flood (${FLOOD_CONNECTIONS} connections × ${FLOOD_REQUESTS} wrong passwords, cost ${COST}): /healthz ${fmt(loud.healthz)}; remembered user ${fmt(loud.valid)}; ` +
          `p99 ratio remembered ${(quantile(loud.valid, 0.99) / quantile(quiet.valid, 0.99)).toFixed(2)}×`,
      );
      console.log(`registry CPU during the flood: ${all.toFixed(2)} s, of which the main thread ${main.toFixed(2)} s`);
      assert.deepEqual(new Set(statuses), new Set([401]));
      assert.equal(statuses.length, FLOOD_CONNECTIONS * FLOOD_REQUESTS);
      // bcrypt on the event loop puts nearly all of the flood's CPU on the main thread.
      assert.ok(main < all * 0.5, `main thread used ${main.toFixed(2)} of ${all.toFixed(2)} CPU seconds`);
    });
  });

  describe("with failedAttempts.limit 5", () => {
    let url: string;
    before(async () => {
      ({ url } = await startRegistry("limited", { limit: 5, window: "1m" }));
    });

    test("the 6th failure from an address gets 429 with Retry-After; remembered users still pass", async () => {
      assert.equal((await timed(`${url}/v2/`, basic("alice", "alice-pw"))).status, 200);
      for (let i = 0; i < 5; i++) assert.equal((await timed(`${url}/v2/`, basic("alice", `wrong-${i}`))).status, 401, `attempt ${i + 1}`);
      const refused = await timed(`${url}/v2/`, basic("alice", "wrong-6"));
      assert.equal(refused.status, 429);
      const retryAfter = Number(refused.res.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.res.headers.get("retry-after")}`);
      // Even a right password that would need bcrypt waits: the limiter cannot tell guesses apart.
      assert.equal((await timed(`${url}/v2/`, basic("bob", "bob-pw"))).status, 429);
      assert.equal((await timed(`${url}/v2/`, basic("alice", "alice-pw"))).status, 200, "remembered credentials pass");
      assert.equal((await timed(`${url}/v2/`)).status, 401, "no credentials: the challenge, not a failure");
    });
  });
});
