/**
 * Case 1 — registry throughput at 16 concurrent clients: blob upload and download MB/s, manifest
 * PUT/s and GET/s. Berth (events off) vs CNCF Distribution 2.8, interleaved per repetition.
 * Goals (issue 3): ≥ 1.0× on blobs, ≥ 1.2× on manifest PUT; manifest GET ≥ 5× (issue 14).
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { startBerthRegistry, type RunningRegistry } from "../lib/berth-registry.js";
import { ensureDockerRegistry, startDockerRegistry } from "../lib/baselines/docker-registry.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import {
  type Blob,
  downloadBlob,
  getManifest,
  imageManifest,
  pushManifestTargets,
  putManifest,
  randomBlobs,
  uploadBlob,
} from "../lib/oci-client.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Goal, Row } from "../lib/table.js";

const CLIENTS = 16;

interface Sizes {
  blobCount: number;
  blobBytes: number;
  downloadRounds: number;
  manifestPuts: number;
  manifestGets: number;
}

function sizes(quick: boolean): Sizes {
  return quick
    ? { blobCount: 16, blobBytes: 2 * 2 ** 20, downloadRounds: 2, manifestPuts: 400, manifestGets: 800 }
    : { blobCount: 32, blobBytes: 8 * 2 ** 20, downloadRounds: 2, manifestPuts: 800, manifestGets: 3200 };
}

type Metric = "blobUp" | "blobDown" | "manifestPut" | "manifestGet";
const METRICS: { id: Metric; label: string; unit: string; goal: Goal }[] = [
  { id: "blobUp", label: "Registry blob upload", unit: "MB/s", goal: { kind: "ratio-at-least", value: 1.0 } },
  { id: "blobDown", label: "Registry blob download", unit: "MB/s", goal: { kind: "ratio-at-least", value: 1.0 } },
  { id: "manifestPut", label: "Registry manifest PUT", unit: "/s", goal: { kind: "ratio-at-least", value: 1.2 } },
  // Issue 14: replicas must not read stale state, and GET must stay ≥ 5× Distribution all the same.
  { id: "manifestGet", label: "Registry manifest GET", unit: "/s", goal: { kind: "ratio-at-least", value: 5 } },
];

/** One registry under test, with its keep-alive client and the targets its manifests point at. */
class Side {
  readonly client: HttpLoadClient;
  targets: { config: Blob; layer: Blob }[] = [];
  readonly results: Record<Metric, number[]> = { blobUp: [], blobDown: [], manifestPut: [], manifestGet: [] };

  constructor(
    readonly name: string,
    readonly registry: RunningRegistry,
  ) {
    this.client = new HttpLoadClient(registry.url, CLIENTS);
  }

  async prepare(): Promise<void> {
    this.targets = await Promise.all(
      Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(this.client, repoOf(c))),
    );
  }
}

const repoOf = (client: number) => `bench/throughput-${client}`;
const MB = 1e6;

async function measureRep(side: Side, rep: number, blobs: Blob[], s: Sizes): Promise<void> {
  const c = side.client;
  progress(`registry throughput: rep ${rep + 1} ${side.name}: blob upload`);
  const up = await runConcurrently(CLIENTS, blobs.length, (i) => uploadBlob(c, repoOf(i % CLIENTS), blobs[i]!));
  side.results.blobUp.push((blobs.length * s.blobBytes) / MB / up.seconds);

  progress(`registry throughput: rep ${rep + 1} ${side.name}: blob download`);
  let bytes = 0;
  const downloads = blobs.length * s.downloadRounds;
  const down = await runConcurrently(CLIENTS, downloads, async (i) => {
    const k = i % blobs.length;
    const n = await downloadBlob(c, repoOf(k % CLIENTS), blobs[k]!.digest);
    bytes += n;
  });
  if (bytes !== downloads * s.blobBytes) throw new Error(`${side.name}: downloaded ${bytes} bytes, expected ${downloads * s.blobBytes}`);
  side.results.blobDown.push(bytes / MB / down.seconds);

  progress(`registry throughput: rep ${rep + 1} ${side.name}: manifest PUT`);
  const manifests = Array.from({ length: s.manifestPuts }, (_, i) => {
    const t = side.targets[i % CLIENTS]!;
    return imageManifest(t.config, t.layer, `rep${rep}-${i}`);
  });
  const tag = (i: number) => `r${rep}-${i}`;
  const put = await runConcurrently(CLIENTS, s.manifestPuts, (i) => putManifest(c, repoOf(i % CLIENTS), tag(i), manifests[i]!));
  side.results.manifestPut.push(s.manifestPuts / put.seconds);

  progress(`registry throughput: rep ${rep + 1} ${side.name}: manifest GET`);
  const get = await runConcurrently(CLIENTS, s.manifestGets, (i) => {
    const k = i % s.manifestPuts;
    return getManifest(c, repoOf(k % CLIENTS), tag(k));
  });
  side.results.manifestGet.push(s.manifestGets / get.seconds);
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const s = sizes(ctx.quick);
  const haveBerth = appExists("registry", ctx.mode);
  const haveBaseline = await ensureDockerRegistry();
  const started: RunningRegistry[] = [];
  const sides: { berth?: Side; baseline?: Side } = {};
  try {
    if (haveBerth) {
      const registry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false });
      started.push(registry);
      sides.berth = new Side("berth", registry);
      await sides.berth.prepare();
    }
    if (haveBaseline) {
      const registry = await startDockerRegistry();
      started.push(registry);
      sides.baseline = new Side("docker-registry", registry);
      await sides.baseline.prepare();
    }
    for (let rep = 0; rep < ctx.reps; rep++) {
      // Fresh random blobs per repetition; both registries get the same bytes.
      const blobs = randomBlobs(s.blobCount, s.blobBytes);
      const { berth, baseline } = sides;
      await interleaved(
        rep,
        async () => (berth ? measureRep(berth, rep, blobs, s) : undefined),
        async () => (baseline ? measureRep(baseline, rep, blobs, s) : undefined),
      );
    }
    return METRICS.map((m) => {
      const berth = sides.berth?.results[m.id];
      const baseline = sides.baseline?.results[m.id];
      const notes: string[] = [];
      if (!berth) notes.push(`Berth part missing: ${appEntry("registry", ctx.mode)}`);
      if (!baseline) notes.push("baseline unavailable: docker-registry not installed");
      return {
        case: m.label,
        unit: m.unit,
        goal: m.goal,
        ...(berth ? { berth: summarize(berth) } : {}),
        ...(baseline ? { baseline: summarize(baseline) } : {}),
        ...(berth && baseline ? { ratio: summarize(pairedRatios(berth, baseline)) } : {}),
        ...(notes.length ? { note: notes.join("; "), missingPart: !berth } : {}),
      };
    });
  } finally {
    sides.berth?.client.close();
    sides.baseline?.client.close();
    await Promise.all(started.map((r) => r.stop()));
  }
}

export const registryThroughput: BenchCase = {
  id: "registry",
  title: "Registry throughput vs docker-registry (CNCF Distribution 2.8)",
  method:
    "16 concurrent keep-alive clients in the bench process; Berth's registry (its own process, events off) vs Debian's docker-registry " +
    "(CNCF Distribution 2.8, filesystem storage in a temp dir, delete enabled, no auth, access log off), interleaved. Blobs: " +
    "32 random 8 MiB blobs uploaded POST+PATCH+PUT, then each downloaded twice. Manifests: 800 distinct OCI manifests PUT by tag " +
    "(each client its own repository), then 3,200 GETs by tag.",
  run,
};
