/**
 * Abuse suite (issue 16), loopback only, against the registry process: many uploads that send
 * their headers and one byte and then stall, and many blob downloads whose clients never read.
 * Prints its figures. Asserted: `/healthz` answers 200 to every probe while the API's in-flight
 * cap is full, with a p99 under 100 ms (the goal) or, on a machine already slower than
 * that, under twice the p99 the same probes get with nothing stalled (measured before and after), and the stalled downloads add less than 0.1 MB of RSS each (the issue's
 * budget: 1,000 add < 100 MB; the sender before pinned about 1 MiB each), 30 MB at least.
 *
 * Load: the figures by default (about 18 s here); BERTH_ABUSE_UPLOADS (4,100) and
 * BERTH_ABUSE_DOWNLOADS (1,000) lower it; the API cap is set just above the downloads. Each connection is a file descriptor here and in the registry:
 * mind `ulimit -n`.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir, readlink } from "node:fs/promises";
import { type Socket, connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { freePort, waitFor } from "@berth/testing";
import { type ManagedProcess, ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";

const UPLOADS = envCount("BERTH_ABUSE_UPLOADS", 4100, 4100);
const DOWNLOADS = envCount("BERTH_ABUSE_DOWNLOADS", 1000, 1000);
/** Room for every download; the uploads are meant to overflow it (when there are more of them). */
const MAX_IN_FLIGHT = DOWNLOADS + 56;
const HEALTH_PROBES = 200;
/** The goal for /healthz while the uploads stall (see the test for a busy machine). */
const HEALTH_P99_MS = 100;
const BLOB_BYTES = 16 * 1024 * 1024;
/**
 * The budget: 1,000 stalled downloads add < 100 MB (0.1 MB each), with a 30 MB floor:
 * serving a few hundred requests at all grows the heap by ~20 MB, which at the default count would
 * otherwise be measured as if the transfers held it (1,000 measured +40 MB, 200 measured +21 MB;
 * the sender before this change: 200 added +178 MB).
 */
const rssBudgetMb = (downloads: number) => Math.max(30, 0.1 * downloads);

function envCount(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer 1-${max}`);
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/** Open file descriptors of `pid` pointing at a path ending in `suffix`. */
async function openFiles(pid: number, suffix: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")).endsWith(suffix)) count++;
  }
  return count;
}

function openStalled(port: number, head: string, body?: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.write(head);
      if (body) socket.write(body);
      socket.pause(); // never reads: the registry's writes back up
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

async function openMany(count: number, open: (i: number) => Promise<Socket>): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => open(i + j)))));
  }
  for (const s of sockets) s.on("error", () => undefined);
  return sockets;
}

describe(`abuse: ${UPLOADS} stalled uploads, ${DOWNLOADS} stalled downloads`, () => {
  const group = new ProcessGroup();
  let registry: ManagedProcess;
  let client: RegistryHttpClient;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let port: number;
  let url: string;

  before(async () => {
    tmp = await makeTempDir("abuse");
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // Timeouts longer than the suite, so the stalled connections stay open while measured; the
    // tiny cap shows the API saturated while the ops endpoints are not.
    const config = await writeJsonFile(tmp.path, "config.json", {
      storage: { rootDirectory: `${tmp.path}/storage` },
      http: { address: "127.0.0.1", port, maxInFlight: MAX_IN_FLIGHT, bodyRateWindow: "5m", stallTimeout: "5m" },
      log: { level: "warn" },
    });
    registry = await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    client = new RegistryHttpClient(url);
  });
  after(async () => {
    await group.stopAll();
    await tmp?.remove();
  });

  test(`/healthz answers while ${UPLOADS} stalled uploads hold the API`, async () => {
    const head = (i: number) =>
      `POST /v2/abuse/up/blobs/uploads/?digest=sha256:${createHash("sha256").update(String(i)).digest("hex")} HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nContent-Length: 9999\r\n\r\n`;
    const probeHealth = async (): Promise<number[]> => {
      const latencies: number[] = [];
      for (let i = 0; i < HEALTH_PROBES; i++) {
        const started = performance.now();
        const res = await client.request("GET", "/healthz", { timeoutMs: 10_000 });
        latencies.push(performance.now() - started);
        assert.equal(res.status, 200, res.body);
      }
      return latencies.sort((a, b) => a - b);
    };
    // The same probes with nothing stalled, before and after: what this machine gives right now.
    const quietBefore = await probeHealth();
    const stalled = await openMany(UPLOADS, (i) => openStalled(port, head(i), Buffer.from("x")));
    let loud: number[];
    try {
      if (UPLOADS > MAX_IN_FLIGHT) {
        await waitFor("the API cap to be full", async () => (await client.request("GET", "/v2/")).status === 429, { timeoutMs: 60_000 });
      }
      loud = await probeHealth();
      assert.equal((await client.request("GET", "/metrics")).status, 200);
    } finally {
      for (const s of stalled) s.destroy();
    }
    await waitFor("the API to answer again", async () => (await client.request("GET", "/v2/")).status === 200, { timeoutMs: 30_000 });
    const quietAfter = await probeHealth();
    const p99 = percentile(loud, 99);
    const quietP99 = Math.max(percentile(quietBefore, 99), percentile(quietAfter, 99));
    const budget = Math.max(HEALTH_P99_MS, 2 * quietP99);
    console.log(
      `abuse: /healthz with ${UPLOADS} stalled uploads open (API cap ${MAX_IN_FLIGHT}): p50 ${percentile(loud, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `max ${loud.at(-1)!.toFixed(1)} ms over ${HEALTH_PROBES} probes; nothing stalled: p99 ${percentile(quietBefore, 99).toFixed(1)} ms before, ` +
        `${percentile(quietAfter, 99).toFixed(1)} ms after; budget ${budget.toFixed(1)} ms`,
    );
    // The goal is p99 < 100 ms; on a machine whose own p99 is already above half of
    // that (shared CI cores), the stalled uploads may at most double it.
    assert.ok(p99 < budget, `/healthz p99 ${p99.toFixed(1)} ms with ${UPLOADS} stalled uploads; budget ${budget.toFixed(1)} ms`);
  });


  test(`${DOWNLOADS} stalled blob downloads add < ${rssBudgetMb(DOWNLOADS)} MB RSS`, async () => {
    const data = randomBytes(BLOB_BYTES);
    const hex = createHash("sha256").update(data).digest("hex");
    const digest = `sha256:${hex}`;
    assert.equal(await client.pushBlob("abuse/dl", { digest, data, mediaType: "application/octet-stream" }), 201);
    // One full download first, so buffers the sender keeps for reuse are already counted.
    assert.equal((await client.request("GET", `/v2/abuse/dl/blobs/${digest}`, { timeoutMs: 30_000 })).status, 200);
    const pid = registry.pid!;
    const before = await rssMb(pid);
    const head = `GET /v2/abuse/dl/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const stalled = await openMany(DOWNLOADS, () => openStalled(port, head));
    let peak = before;
    try {
      await waitFor("every download to hold the blob open", async () => (await openFiles(pid, hex)) === DOWNLOADS, { timeoutMs: 60_000 });
      // Until the socket buffers are full and RSS stops growing (or 10 s).
      let last = 0;
      await waitFor(
        "RSS to settle",
        async () => {
          const now = await rssMb(pid);
          peak = Math.max(peak, now);
          const settled = Math.abs(now - last) < 1;
          last = now;
          return settled;
        },
        { timeoutMs: 10_000, intervalMs: 500 },
      ).catch(() => undefined);
    } finally {
      for (const s of stalled) s.destroy();
    }
    await waitFor("the registry to close every blob file", async () => (await openFiles(pid, hex)) === 0, { timeoutMs: 30_000 });
    const afterLeaving = await rssMb(pid);
    const added = peak - before;
    const budget = rssBudgetMb(DOWNLOADS);
    console.log(
      `abuse: ${DOWNLOADS} stalled downloads of a ${BLOB_BYTES / 2 ** 20} MiB blob: RSS ${before.toFixed(0)} MB before, ` +
        `${peak.toFixed(0)} MB peak (+${added.toFixed(1)} MB, ${((added / DOWNLOADS) * 1024).toFixed(0)} KiB each; budget ${budget.toFixed(0)} MB), ` +
        `${afterLeaving.toFixed(0)} MB after the clients left; every blob file closed`,
    );
    assert.ok(added < budget, `stalled downloads added ${added.toFixed(1)} MB, budget ${budget} MB`);
  });
});
