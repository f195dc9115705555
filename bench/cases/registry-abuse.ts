/**
 * Registry memory under hostile load (issue 16):
 * - RSS added by blob downloads whose clients never read (1,000 of a 16 MiB blob; goal < 100 MB),
 *   beside docker-registry under the same stall for reference;
 * - peak RSS of 50 concurrent 4 MiB manifest PUTs with events on (goal < 300 MB), against the same
 *   registry build with the body memory budget lifted (`http.maxBufferedBodyBytes` 1 GiB), so the
 *   ratio shows what the budget saves in the same run.
 */
import { createHash } from "node:crypto";
import { type Socket, connect } from "node:net";
import { uniqueName } from "@berth/testing";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { type BaselineRegistry, ensureDockerRegistry, startDockerRegistry } from "../lib/baselines/docker-registry.js";
import { type RunningRegistry, startBerthRegistry } from "../lib/berth-registry.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import { OCI_MANIFEST, downloadBlob, pushManifestTargets, putManifest, randomBlobs, uploadBlob } from "../lib/oci-client.js";
import { peakRssMb, rssMb } from "../lib/proc-status.js";
import { progress } from "../lib/progress.js";
import { deleteKeysByPrefix } from "../lib/redis-keys.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const STALLED_GOAL_MB = 100;
const MANIFEST_GOAL_MB = 300;
const BLOB_BYTES = 16 * 2 ** 20;
const MANIFESTS = 50;
/** Just under the 4 MiB manifest limit. */
const MANIFEST_BYTES = 4 * 2 ** 20 - 4096;

type AnyRegistry = RunningRegistry | BaselineRegistry;

function openStalled(url: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
      socket.pause();
      socket.on("error", () => undefined);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS added while `count` clients sit on a download without reading, after one full download. */
async function stalledDownloads(name: string, start: () => Promise<AnyRegistry>, count: number): Promise<number> {
  const registry = await start();
  const client = new HttpLoadClient(registry.url, 1);
  const sockets: Socket[] = [];
  try {
    const [blob] = randomBlobs(1, BLOB_BYTES);
    await uploadBlob(client, "bench/stall", blob!);
    await downloadBlob(client, "bench/stall", blob!.digest);
    const pid = registry.process.pid;
    const before = rssMb(pid);
    progress(`registry abuse: ${name}: ${count} downloads that never read`);
    for (let i = 0; i < count; i += 50) {
      const batch = Array.from({ length: Math.min(50, count - i) }, () => openStalled(registry.url, `/v2/bench/stall/blobs/${blob!.digest}`));
      sockets.push(...(await Promise.all(batch)));
    }
    // Sample until RSS stops growing (socket buffers full), at most 15 s.
    let peak = rssMb(pid);
    for (let i = 0, last = 0; i < 30; i++) {
      await sleep(500);
      const now = rssMb(pid);
      peak = Math.max(peak, now);
      if (Math.abs(now - last) < 1 && i >= 4) break;
      last = now;
    }
    return peak - before;
  } finally {
    for (const s of sockets) s.destroy();
    client.close();
    await registry.stop();
  }
}

/** A valid image manifest of about `bytes`: one config, one layer, and a large annotation. */
function largeManifest(config: { digest: string; data: Buffer }, layer: { digest: string; data: Buffer }, salt: string, bytes: number): Buffer {
  const base = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.data.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer.digest, size: layer.data.length }],
    annotations: { "org.example.salt": salt, "org.example.padding": "" },
  };
  const room = bytes - Buffer.byteLength(JSON.stringify(base));
  base.annotations["org.example.padding"] = createHash("sha256").update(salt).digest("hex").repeat(Math.ceil(room / 64)).slice(0, room);
  return Buffer.from(JSON.stringify(base));
}

/** Peak RSS (VmHWM) of a fresh registry after MANIFESTS concurrent large manifest PUTs. */
async function largeManifests(name: string, start: () => Promise<RunningRegistry>): Promise<number> {
  const registry = await start();
  const client = new HttpLoadClient(registry.url, MANIFESTS);
  try {
    const targets = await pushManifestTargets(client, "bench/large");
    const bodies = Array.from({ length: MANIFESTS }, (_, i) => largeManifest(targets.config, targets.layer, `${name}-${i}`, MANIFEST_BYTES));
    progress(`registry abuse: ${name}: ${MANIFESTS} concurrent ${(MANIFEST_BYTES / 2 ** 20).toFixed(1)} MiB manifest PUTs`);
    await runConcurrently(MANIFESTS, MANIFESTS, (i) => putManifest(client, "bench/large", `t${i}`, bodies[i]!));
    return peakRssMb(registry.process.pid);
  } finally {
    client.close();
    await registry.stop();
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const stalled = ctx.quick ? 300 : 1000;
  const haveBerth = appExists("registry", ctx.mode);
  const haveBaseline = await ensureDockerRegistry();
  const prefix = uniqueName("bench-large-manifests");
  // One HTTP sink to a closed port: every PUT's event (manifest included) becomes a queued job.
  const sinks = [{ name: "large-http", type: "http" as const, address: "http://127.0.0.1:9/events", concurrency: 1 }];
  const berth = (http?: Record<string, unknown>) => () =>
    startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix, events: true, sinks, ...(http ? { http } : {}) });
  const samples = { stalled: [] as number[], stalledBase: [] as number[], manifests: [] as number[], unbudgeted: [] as number[] };
  try {
    for (let rep = 0; rep < ctx.reps && haveBerth; rep++) {
      progress(`registry abuse: rep ${rep + 1}/${ctx.reps}`);
      await interleaved(
        rep,
        async () => {
          samples.stalled.push(await stalledDownloads("berth", berth(), stalled));
          samples.manifests.push(await largeManifests("berth", berth()));
        },
        async () => {
          if (haveBaseline) samples.stalledBase.push(await stalledDownloads("docker-registry", startDockerRegistry, stalled));
          samples.unbudgeted.push(await largeManifests("berth, budget lifted", berth({ maxBufferedBodyBytes: 2 ** 30 })));
        },
      );
    }
  } finally {
    await deleteKeysByPrefix(ctx.redisUrl, prefix);
  }
  const missing = haveBerth ? {} : { note: `Berth part missing: ${appEntry("registry", ctx.mode)}`, missingPart: true };
  return [
    {
      case: `Registry RSS added by ${stalled} stalled downloads of a 16 MiB blob (lower is better)`,
      unit: "MB",
      goal: { kind: "berth-below", value: STALLED_GOAL_MB, unit: "MB" },
      ...(samples.stalled.length ? { berth: summarize(samples.stalled) } : {}),
      ...(samples.stalledBase.length ? { baseline: summarize(samples.stalledBase) } : {}),
      ...(haveBaseline ? {} : { note: "baseline unavailable: docker-registry not installed" }),
      ...missing,
    },
    {
      case: `Registry peak RSS, ${MANIFESTS} concurrent 4 MiB manifest PUTs, events on; baseline: body budget lifted (lower is better)`,
      unit: "MB",
      goal: { kind: "berth-below", value: MANIFEST_GOAL_MB, unit: "MB" },
      ...(samples.manifests.length ? { berth: summarize(samples.manifests) } : {}),
      ...(samples.unbudgeted.length ? { baseline: summarize(samples.unbudgeted) } : {}),
      ...(samples.manifests.length && samples.unbudgeted.length ? { ratio: summarize(pairedRatios(samples.manifests, samples.unbudgeted)) } : {}),
      ...missing,
    },
  ];
}

export const registryAbuse: BenchCase = {
  id: "registry-abuse",
  title: "Registry memory under hostile load: stalled downloads, concurrent large manifests",
  method:
    "Stalled downloads: a fresh registry process, one 16 MiB blob pushed and downloaded once, then 1,000 (--quick: 300) " +
    "GETs of it whose sockets never read; the figure is VmRSS at its settled peak minus VmRSS before (/proc/<pid>/status); " +
    "docker-registry gets the same, for reference. Large manifests: a fresh registry process with events on (one HTTP sink " +
    "to a closed port, so each event is a queued job in Redis under a unique prefix, deleted after), 50 distinct valid " +
    "image manifests of 4 MiB (a large annotation) PUT concurrently by 50 clients; the figure is VmHWM. The baseline is the " +
    "same build with http.maxBufferedBodyBytes at 1 GiB (no budget), interleaved.",
  run,
};
