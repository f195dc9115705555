/**
 * Tag-heavy repositories (issue 19): manifest PUT rate into a repository already holding 12,000
 * tags vs into an empty one (Berth against itself, goal ≥ 0.9×), and vs CNCF Distribution 2.8
 * holding the same 12,000 tags (goal ≥ 1.5×); then the registry's RSS serving a repository of
 * 100,000 tags.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { ensureDockerRegistry, startDockerRegistry } from "../lib/baselines/docker-registry.js";
import { startBerthRegistry, type RunningRegistry } from "../lib/berth-registry.js";
import { HttpLoadClient, expectStatus, runConcurrently } from "../lib/load-generator.js";
import { type Blob, OCI_MANIFEST, getManifest, imageManifest, pushManifestTargets, putManifest, sha256, uploadBlob } from "../lib/oci-client.js";
import { rssMb } from "../lib/proc-status.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const CLIENTS = 16;
const PREFILL_CLIENTS = 32;
const FULL_REPO = "bench/tag-heavy";

function sizes(quick: boolean) {
  return quick ? { prefill: 3_000, puts: 400, rssTags: 20_000 } : { prefill: 12_000, puts: 800, rssTags: 100_000 };
}

class Side {
  readonly client: HttpLoadClient;
  targets!: { config: Blob; layer: Blob };
  readonly full: number[] = [];
  readonly empty: number[] = [];

  constructor(
    readonly name: string,
    readonly registry: RunningRegistry,
  ) {
    this.client = new HttpLoadClient(registry.url, PREFILL_CLIENTS);
  }

  async prefill(tags: number): Promise<void> {
    this.targets = await pushManifestTargets(this.client, FULL_REPO);
    progress(`tag-heavy: ${this.name}: pushing ${tags} tags to ${FULL_REPO}`);
    await runConcurrently(PREFILL_CLIENTS, tags, (i) => putManifest(this.client, FULL_REPO, `pre-${i}`, this.manifest(`pre-${i}`)));
  }

  manifest(salt: string): Buffer {
    return imageManifest(this.targets.config, this.targets.layer, salt);
  }

  /** PUT/s of `count` new tags (distinct manifests) into `repo`. */
  async putRate(repo: string, label: string, count: number): Promise<number> {
    const manifests = Array.from({ length: count }, (_, i) => this.manifest(`${label}-${i}`));
    const { seconds } = await runConcurrently(CLIENTS, count, (i) => putManifest(this.client, repo, `${label}-${i}`, manifests[i]!));
    return count / seconds;
  }
}

async function measureBerth(side: Side, rep: number, puts: number): Promise<void> {
  // A fresh empty repository each repetition; the full one keeps growing (12,000 + earlier reps).
  const emptyRepo = `bench/empty-${rep}`;
  await pushTargetsInto(side, emptyRepo);
  const runFull = async () => {
    side.full.push(await side.putRate(FULL_REPO, `full${rep}`, puts));
  };
  const runEmpty = async () => {
    side.empty.push(await side.putRate(emptyRepo, `empty${rep}`, puts));
  };
  progress(`tag-heavy: rep ${rep + 1} berth: ${puts} PUTs into ${FULL_REPO} and into ${emptyRepo}`);
  await interleaved(rep, runFull, runEmpty);
}

async function pushTargetsInto(side: Side, repo: string): Promise<void> {
  for (const blob of [side.targets.config, side.targets.layer]) await uploadBlob(side.client, repo, blob);
}

/**
 * A zot-style root (tags only in index.json, as an OCI image layout) holding `tags` distinct
 * manifests, each tagged once: written directly, as a zot root Berth is pointed at would be.
 */
async function writeLayoutWithTags(root: string, repo: string, tags: number, targets: { config: Blob; layer: Blob }): Promise<string[]> {
  const dir = join(root, repo);
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const blob of [targets.config, targets.layer]) await writeFile(join(blobs, blob.digest.slice(7)), blob.data);
  const entries: unknown[] = [];
  const names: string[] = [];
  for (let i = 0; i < tags; i++) {
    const tag = `build-${String(i).padStart(6, "0")}`;
    const body = imageManifest(targets.config, targets.layer, tag);
    const digest = sha256(body);
    await writeFile(join(blobs, digest.slice(7)), body);
    entries.push({ mediaType: OCI_MANIFEST, digest, size: body.length, annotations: { "org.opencontainers.image.ref.name": tag } });
    names.push(tag);
  }
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: entries }));
  return names;
}

/** RSS after serving a repository of `tags` tags: every tags/list page, 100 GETs by tag, 100 PUTs (and index.json's redraw). */
async function rssAtTags(ctx: BenchContext, tags: number, targets: { config: Blob; layer: Blob }): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), "berth-bench-tags-"));
  try {
    progress(`tag-heavy: writing a root with ${tags} tags`);
    const names = await writeLayoutWithTags(root, FULL_REPO, tags, targets);
    const registry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false, rootDirectory: root });
    const client = new HttpLoadClient(registry.url, CLIENTS);
    try {
      progress(`tag-heavy: listing ${tags} tags page by page`);
      let path: string | undefined = `/v2/${FULL_REPO}/tags/list?n=1000`;
      let listed = 0;
      while (path) {
        const res = expectStatus("tags/list", await client.request("GET", path), 200);
        listed += (JSON.parse(res.body.toString("utf8")) as { tags: string[] }).tags.length;
        const link = res.headers.link as string | undefined;
        path = link ? /<([^>]+)>/.exec(link)?.[1] : undefined;
      }
      if (listed !== tags) throw new Error(`listed ${listed} tags, expected ${tags}`);
      await runConcurrently(CLIENTS, 100, (i) => getManifest(client, FULL_REPO, names[(i * 997) % names.length]!));
      await runConcurrently(CLIENTS, 100, (i) =>
        putManifest(client, FULL_REPO, `after-${i}`, imageManifest(targets.config, targets.layer, `after-${i}`)),
      );
      // Past the index.json redraw delay (1 s), so its serialisation is in the figure.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return rssMb(registry.process.pid);
    } finally {
      client.close();
      await registry.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const s = sizes(ctx.quick);
  const haveBerth = appExists("registry", ctx.mode);
  const haveBaseline = await ensureDockerRegistry();
  const started: RunningRegistry[] = [];
  let berth: Side | undefined;
  let baseline: Side | undefined;
  let rss: number | undefined;
  try {
    if (haveBerth) {
      const registry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false });
      started.push(registry);
      berth = new Side("berth", registry);
      await berth.prefill(s.prefill);
    }
    if (haveBaseline) {
      const registry = await startDockerRegistry();
      started.push(registry);
      baseline = new Side("docker-registry", registry);
      await baseline.prefill(s.prefill);
    }
    for (let rep = 0; rep < ctx.reps; rep++) {
      await interleaved(
        rep,
        async () => (berth ? measureBerth(berth, rep, s.puts) : undefined),
        async () => {
          if (!baseline) return;
          progress(`tag-heavy: rep ${rep + 1} docker-registry: ${s.puts} PUTs into ${FULL_REPO}`);
          baseline.full.push(await baseline.putRate(FULL_REPO, `full${rep}`, s.puts));
        },
      );
    }
    if (berth) rss = await rssAtTags(ctx, s.rssTags, berth.targets);
  } finally {
    berth?.client.close();
    baseline?.client.close();
    await Promise.all(started.map((r) => r.stop()));
  }
  const missing = berth ? undefined : `Berth part missing: ${appEntry("registry", ctx.mode)}`;
  const full = `${s.prefill.toLocaleString("en")} tags`;
  return [
    {
      case: `Manifest PUT into a repository of ${full} ÷ into an empty one (both Berth)`,
      unit: "/s",
      goal: { kind: "ratio-at-least", value: 0.9 },
      ...(berth ? { berth: summarize(berth.full), baseline: summarize(berth.empty), ratio: summarize(pairedRatios(berth.full, berth.empty)) } : {}),
      ...(missing ? { note: missing, missingPart: true } : {}),
    },
    {
      case: `Manifest PUT into a repository of ${full} vs docker-registry`,
      unit: "/s",
      goal: { kind: "ratio-at-least", value: 1.5 },
      ...(berth ? { berth: summarize(berth.full) } : {}),
      ...(baseline ? { baseline: summarize(baseline.full) } : {}),
      ...(berth && baseline ? { ratio: summarize(pairedRatios(berth.full, baseline.full)) } : {}),
      ...(missing ? { note: missing, missingPart: true } : !baseline ? { note: "baseline unavailable: docker-registry not installed" } : {}),
    },
    {
      case: `Registry RSS serving one repository of ${s.rssTags.toLocaleString("en")} tags`,
      unit: "MB",
      ...(rss !== undefined ? { berth: summarize([rss]) } : {}),
      note: "after listing every page, 100 GETs and 100 PUTs by tag and index.json's redraw; no baseline",
    },
  ];
}

export const tagHeavy: BenchCase = {
  id: "tags",
  title: "Tag-heavy repositories: manifest PUT cost vs the number of tags",
  method:
    "16 concurrent keep-alive clients. Each registry first receives 12,000 distinct manifests by tag in one repository (3,000 with " +
    "--quick; 32 clients). Then per repetition 800 new tags (400 with --quick): Berth into that repository and into a fresh empty " +
    "one (order alternating), docker-registry (CNCF Distribution 2.8) into its own 12,000-tag repository, Berth and the baseline " +
    "interleaved. RSS: a fresh Berth registry over a root written as a zot/OCI layout holding 100,000 tags (20,000 with --quick) " +
    "in one repository, read from /proc after the listed work.",
  run,
};
