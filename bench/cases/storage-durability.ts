/**
 * Issue 21 — the cost of crash-consistent storage: image pushes/s and manifest PUTs/s of the Berth
 * registry with directory fsyncs (every rename, link and new entry durable before the answer) vs
 * the same build with `storage.fsyncDirectories: false` (file data fsync'd and renamed, directories
 * never fsync'd: what the registry did before). Goal: ≥ 0.9×.
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { type RunningRegistry, startBerthRegistry } from "../lib/berth-registry.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import { type Blob, distinctImage, imageManifest, pushImage, pushManifestTargets, putManifest } from "../lib/oci-client.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const CLIENTS = 16;
const LAYER_BYTES = 32 * 1024;
/** Alternating slices per side and repetition (ABBA), so both sides share the machine's minutes. */
const SLICES = 8;

type Workload = "push" | "manifest";

class Side {
  readonly client: HttpLoadClient;
  targets: { config: Blob; layer: Blob }[] = [];
  readonly rates: Record<Workload, number[]> = { push: [], manifest: [] };

  constructor(
    readonly name: string,
    readonly registry: RunningRegistry,
  ) {
    this.client = new HttpLoadClient(registry.url, CLIENTS);
  }

  async prepare(): Promise<void> {
    this.targets = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(this.client, repoOf(c))));
  }

  /** Runs `count` operations of `workload`; its seconds. */
  async run(workload: Workload, tag: string, count: number): Promise<number> {
    if (workload === "push") {
      const images = Array.from({ length: count }, (_, i) => distinctImage(`${this.name}-${tag}-${i}`, LAYER_BYTES));
      return (await runConcurrently(CLIENTS, count, (i) => pushImage(this.client, repoOf(i), `p${tag}-${i}`, images[i]!))).seconds;
    }
    const manifests = Array.from({ length: count }, (_, i) => {
      const t = this.targets[i % CLIENTS]!;
      return imageManifest(t.config, t.layer, `durable-${tag}-${i}`);
    });
    return (await runConcurrently(CLIENTS, count, (i) => putManifest(this.client, repoOf(i), `m${tag}-${i}`, manifests[i]!))).seconds;
  }
}

const repoOf = (i: number) => `bench/durable-${i % CLIENTS}`;

async function repetition(rep: number, workload: Workload, total: number, synced: Side, unsynced: Side): Promise<void> {
  progress(`storage durability: repetition ${rep + 1}: ${total} ${workload === "push" ? "image pushes" : "manifest PUTs"} per side`);
  const count = Math.ceil(total / SLICES);
  const seconds = { synced: 0, unsynced: 0 };
  for (let slice = 0; slice < SLICES; slice++) {
    const tag = `${rep}-${slice}`;
    await interleaved(
      rep + slice,
      async () => {
        seconds.synced += await synced.run(workload, tag, count);
      },
      async () => {
        seconds.unsynced += await unsynced.run(workload, tag, count);
      },
    );
  }
  synced.rates[workload].push((count * SLICES) / seconds.synced);
  unsynced.rates[workload].push((count * SLICES) / seconds.unsynced);
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const goal = { kind: "ratio-at-least", value: 0.9 } as const;
  const labels: Record<Workload, string> = {
    push: "Storage: image pushes/s, directory fsync on vs off",
    manifest: "Storage: manifest PUTs/s, directory fsync on vs off",
  };
  if (!appExists("registry", ctx.mode)) {
    const note = `Berth part missing: ${appEntry("registry", ctx.mode)}`;
    return (["push", "manifest"] as const).map((w) => ({ case: labels[w], unit: "/s", goal, note, missingPart: true }));
  }
  const pushes = ctx.quick ? 200 : 400;
  const puts = ctx.quick ? 400 : 800;
  const started: RunningRegistry[] = [];
  try {
    const common = { mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false };
    const on = await startBerthRegistry({ ...common, label: "registry-dir-fsync-on" });
    started.push(on);
    const off = await startBerthRegistry({ ...common, label: "registry-dir-fsync-off", fsyncDirectories: false });
    started.push(off);
    const synced = new Side("on", on);
    const unsynced = new Side("off", off);
    await Promise.all([synced.prepare(), unsynced.prepare()]);
    for (let rep = 0; rep < ctx.reps; rep++) {
      await repetition(rep, "push", pushes, synced, unsynced);
      await repetition(rep, "manifest", puts, synced, unsynced);
    }
    synced.client.close();
    unsynced.client.close();
    return (["push", "manifest"] as const).map((w) => ({
      case: labels[w],
      unit: "/s",
      goal,
      berth: summarize(synced.rates[w]),
      baseline: summarize(unsynced.rates[w]),
      ratio: summarize(pairedRatios(synced.rates[w], unsynced.rates[w])),
    }));
  } finally {
    await Promise.all(started.map((r) => r.stop()));
  }
}

export const storageDurability: BenchCase = {
  id: "durability",
  title: "Crash-consistent storage: the cost of directory fsyncs",
  method:
    "Two Berth registry processes of the same build, events off, each on its own temp dir on the same disk: one as shipped (file data " +
    "fsync'd, renamed, then its directory fsync'd; directory fsyncs group-committed per directory), one with storage.fsyncDirectories " +
    "false (file fsync + rename only: the registry before issue 21). 16 clients, 16 repositories; each repetition is cut into 8 slices " +
    "per side run alternately (ABBA). 400 image pushes (per blob a HEAD, then POST + PATCH + PUT: a fresh config and a random 32 KiB " +
    "layer, then the manifest PUT by tag), then 800 manifest PUTs by tag over blobs pushed beforehand.",
  run,
};
