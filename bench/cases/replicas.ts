/**
 * Replicas on one storage root (issue 14): manifest PUT/s with two Berth registry processes
 * serving one root, requests alternating between them as a round-robin load balancer sends them,
 * vs one registry process alone. On 2 cores this is the cost of the cross-process coordination
 * (repository lock file, tag log revalidation): goal ≥ 0.9×.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { startBerthRegistry, type RunningRegistry } from "../lib/berth-registry.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import { type Blob, imageManifest, pushManifestTargets, putManifest } from "../lib/oci-client.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const CLIENTS = 16;
const repoOf = (client: number) => `bench/replicas-${client}`;

/** One deployment: its registry processes over one root, a keep-alive client to each. */
class Deployment {
  readonly clients: HttpLoadClient[];
  targets: { config: Blob; layer: Blob }[] = [];
  readonly rates: number[] = [];

  constructor(
    readonly name: string,
    readonly registries: RunningRegistry[],
  ) {
    this.clients = registries.map((r) => new HttpLoadClient(r.url, CLIENTS));
  }

  async prepare(): Promise<void> {
    this.targets = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(this.clients[0]!, repoOf(c))));
  }

  async measure(rep: number, puts: number): Promise<void> {
    progress(`replicas: rep ${rep + 1} ${this.name}: ${puts} manifest PUTs`);
    const manifests = Array.from({ length: puts }, (_, i) => {
      const t = this.targets[i % CLIENTS]!;
      return imageManifest(t.config, t.layer, `${this.name}-${rep}-${i}`);
    });
    // Request i goes to replica i mod n: consecutive PUTs to one repository land on different processes.
    const { seconds } = await runConcurrently(CLIENTS, puts, (i) =>
      putManifest(this.clients[i % this.clients.length]!, repoOf(i % CLIENTS), `r${rep}-${i}`, manifests[i]!),
    );
    this.rates.push(puts / seconds);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const puts = ctx.quick ? 400 : 800;
  if (!appExists("registry", ctx.mode)) {
    return [{ case: "Manifest PUT, 2 replicas on one root ÷ 1 replica", unit: "/s", note: `Berth part missing: ${appEntry("registry", ctx.mode)}`, missingPart: true }];
  }
  const sharedRoot = await mkdtemp(join(tmpdir(), "berth-bench-replicas-"));
  const started: RunningRegistry[] = [];
  const deployments: Deployment[] = [];
  try {
    const start = async (label: string, rootDirectory?: string) => {
      const r = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false, label, ...(rootDirectory ? { rootDirectory } : {}) });
      started.push(r);
      return r;
    };
    const single = new Deployment("1 replica", [await start("berth-single")]);
    const pair = new Deployment("2 replicas", [await start("berth-replica-a", sharedRoot), await start("berth-replica-b", sharedRoot)]);
    deployments.push(single, pair);
    await single.prepare();
    await pair.prepare();
    for (let rep = 0; rep < ctx.reps; rep++) {
      await interleaved(
        rep,
        () => pair.measure(rep, puts),
        () => single.measure(rep, puts),
      );
    }
    return [
      {
        case: "Manifest PUT, 2 replicas on one root ÷ 1 replica",
        unit: "/s",
        goal: { kind: "ratio-at-least", value: 0.9 },
        berth: summarize(pair.rates),
        baseline: summarize(single.rates),
        ratio: summarize(pairedRatios(pair.rates, single.rates)),
      },
    ];
  } finally {
    for (const d of deployments) d.close();
    await Promise.all(started.map((r) => r.stop()));
    await rm(sharedRoot, { recursive: true, force: true });
  }
}

export const replicas: BenchCase = {
  id: "replicas",
  title: "Registry replicas on one storage root",
  method:
    "16 concurrent keep-alive clients, each PUTting distinct manifests by tag to its own repository (800 per repetition, 400 with " +
    "--quick). Two Berth registry processes (events off) serving one root, request i sent to replica i mod 2, vs one Berth " +
    "registry process over its own root; interleaved. Both sides run on the same cores, so the ratio is the coordination cost " +
    "(the repository lock file, the tag log's revalidation), not a scale-out gain.",
  run,
};
