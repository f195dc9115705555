/**
 * Issue 14's "Done when" on real processes: three registry processes over one storage root, with
 * events on (own Redis, sink queues and no worker, so the queues hold exactly what was emitted).
 * 3 clients × 100 tag pushes to one repository, round-robin over the replicas; skopeo copy in
 * through one replica and out through another; a chunked upload whose POST, PATCHes and PUT land
 * on three replicas; the tag-PUT vs DELETE-by-digest race across two processes.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DeliveryJobData, sinkQueueName } from "@berth/queue";
import { type OwnServer, freePort, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { contentBlob, makeTestImage, manifestFor, OCI_LAYER, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { ManagedProcess, ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";
import { skopeoPush } from "@berth/testing/skopeo";
import { Queue } from "bullmq";

const REF_NAME = "org.opencontainers.image.ref.name";
const execFileText = async (args: string[]) => {
  const { execFile } = await import("node:child_process");
  return new Promise<{ code: number; out: string }>((resolve) =>
    execFile("/usr/bin/skopeo", args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr })),
  );
};

describe("three registry replicas over one storage root", () => {
  let redis: OwnServer;
  const group = new ProcessGroup();
  const replicas: { process: ManagedProcess; client: RegistryHttpClient; host: string }[] = [];
  let dir: { path: string; remove(): Promise<void> };
  const prefix = uniqueName("replicas");
  const sink = { name: "replicas-http", type: "http" as const, address: "http://127.0.0.1:9/events" };
  let root = "";

  before(async () => {
    redis = await startRedisServer();
    dir = await makeTempDir("replicas");
    root = join(dir.path, "storage");
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const config = {
        storage: { rootDirectory: root },
        http: { address: "127.0.0.1", port },
        log: { level: "warn" },
        extensions: { events: { enable: true, sinks: [sink] } },
        queue: { redis: redis.url, prefix },
      };
      const file = await writeJsonFile(dir.path, `config-${i}.json`, config);
      const process = new ManagedProcess({ name: `registry-${i}`, script: "apps/registry/src/main.ts", args: ["--config", file], ready: { port } });
      group.processes.push(process);
      replicas.push({ process, client: new RegistryHttpClient(`http://127.0.0.1:${port}`), host: `127.0.0.1:${port}` });
    }
    await Promise.all(replicas.map((r) => r.process.start()));
  });
  after(async () => {
    await group.stopAll();
    await dir?.remove();
    await redis?.destroy();
  });

  async function queued(): Promise<DeliveryJobData[]> {
    const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: { url: redis.url }, prefix });
    try {
      return (await queue.getJobs(["wait"], 0, -1, true)).map((job) => job.data);
    } finally {
      await queue.close();
    }
  }

  async function indexJsonTags(repo: string): Promise<string[]> {
    const doc = JSON.parse(await readFile(join(root, repo, "index.json"), "utf8")) as { manifests: Array<{ annotations?: Record<string, string> }> };
    return doc.manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => !!t);
  }

  test("3 clients × 100 tag pushes round-robin: 300 tags everywhere, each pullable from each replica, one image.updated per push", { timeout: 180_000 }, async () => {
    const repo = "team/shared";
    const image = makeTestImage({ layerBytes: 256 });
    for (const blob of [image.config, ...image.layers]) assert.equal(await replicas[0]!.client.pushBlob(repo, blob), 201);
    const pushed: { tag: string; digest: string }[] = [];
    await Promise.all(
      [0, 1, 2].map(async (clientNo) => {
        for (let i = 0; i < 100; i++) {
          const tag = `c${clientNo}-${String(i).padStart(3, "0")}`;
          const manifest = manifestFor(image.config, image.layers, { "berth.test/tag": tag });
          const res = await replicas[(clientNo + i) % 3]!.client.putManifest(repo, tag, manifest);
          assert.equal(res.status, 201, res.body);
          pushed.push({ tag, digest: manifest.digest });
        }
      }),
    );
    const expected = pushed.map((p) => p.tag).sort();
    for (const r of replicas) {
      const res = await r.client.request("GET", `/v2/${repo}/tags/list`);
      assert.deepEqual((JSON.parse(res.body) as { tags: string[] }).tags, expected, `${r.host}'s tags/list`);
    }
    for (const { tag, digest } of pushed) {
      for (const r of replicas) {
        const res = await r.client.request("GET", `/v2/${repo}/manifests/${tag}`, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
        assert.equal(res.status, 200, `${tag} from ${r.host}`);
        assert.equal(res.headers["docker-content-digest"], digest);
      }
    }
    // index.json is redrawn in the background (1 s after a change, plus the rewrite); the wait is generous
    // for a loaded machine, so this checks the redraw happens and is complete, not its delay.
    await waitFor("index.json to list every tag", async () => (await indexJsonTags(repo)).length === 300, { timeoutMs: 20_000 });
    assert.deepEqual((await indexJsonTags(repo)).sort(), expected);
    const jobs = (await queued()).filter((j) => j.event.data.name === repo);
    const updated = jobs.filter((j) => j.event.type.endsWith("image.updated")).map((j) => j.event.data.reference).sort();
    assert.deepEqual(updated, expected, "one image.updated per push");
    assert.equal(jobs.filter((j) => j.event.type.endsWith("repository.created")).length, 1, "repository.created once");
  });

  test("skopeo copy into one replica reads back from another", { timeout: 120_000 }, async () => {
    const layout = join(dir.path, "src");
    await writeOciLayout(layout, "v1", makeTestImage({ layerBytes: 4096 }));
    const pushed = await skopeoPush(layout, "v1", `${replicas[0]!.host}/team/skopeo:v1`);
    assert.equal(pushed.code, 0, pushed.stderr);
    const back = await execFileText(["--insecure-policy", "copy", "--src-tls-verify=false", `docker://${replicas[2]!.host}/team/skopeo:v1`, `oci:${join(dir.path, "back")}:v1`]);
    assert.equal(back.code, 0, back.out);
  });

  test("a chunked upload whose POST, PATCHes and PUT land on three replicas", async () => {
    const repo = "team/chunked";
    const data = Buffer.alloc(3000, 7);
    const blob = contentBlob(data, OCI_LAYER);
    const [r0, r1, r2] = replicas.map((r) => r.client) as [RegistryHttpClient, RegistryHttpClient, RegistryHttpClient];
    const started = await r0.request("POST", `/v2/${repo}/blobs/uploads/`);
    assert.equal(started.status, 202);
    let location = String(started.headers.location);
    for (const [client, start] of [
      [r1, 0],
      [r2, 1000],
      [r0, 2000],
    ] as const) {
      const res = await client.request("PATCH", location, {
        headers: { "Content-Type": "application/octet-stream", "Content-Range": `${start}-${start + 999}` },
        body: data.subarray(start, start + 1000),
      });
      assert.equal(res.status, 202, res.body);
      location = String(res.headers.location);
    }
    const sep = location.includes("?") ? "&" : "?";
    const done = await r1.request("PUT", `${location}${sep}digest=${encodeURIComponent(blob.digest)}`);
    assert.equal(done.status, 201, done.body);
    const read = await r2.request("GET", `/v2/${repo}/blobs/${blob.digest}`);
    assert.equal(read.status, 200);
    assert.equal(read.body, data.toString("utf8"));
  });

  test("tag PUT racing DELETE by digest, on one process and across two: tag and manifest both present or both gone on every replica", { timeout: 300_000 }, async (t) => {
    const rounds = Number(process.env.BERTH_RACE_ROUNDS ?? 300);
    const repo = "team/race";
    const image = makeTestImage({ layerBytes: 128 });
    for (const blob of [image.config, ...image.layers]) assert.equal(await replicas[0]!.client.pushBlob(repo, blob), 201);
    const manifest = manifestFor(image.config, image.layers);
    let inconsistent = 0;
    const outcomes = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      // Even rounds race on one process, odd rounds across two.
      const a = replicas[0]!.client;
      const b = replicas[round % 2]!.client;
      assert.equal((await a.putManifest(repo, "seed", manifest)).status, 201);
      const [put, del] = await Promise.all([a.putManifest(repo, `t${round}`, manifest), b.request("DELETE", `/v2/${repo}/manifests/${manifest.digest}`)]);
      const seen: string[] = [];
      for (const r of replicas) {
        const listed = (JSON.parse((await r.client.request("GET", `/v2/${repo}/tags/list`)).body) as { tags?: string[] }).tags?.includes(`t${round}`) ?? false;
        const pulled = (await r.client.request("GET", `/v2/${repo}/manifests/t${round}`, { headers: { Accept: manifest.mediaType } })).status === 200;
        seen.push(`listed ${listed} pullable ${pulled}`);
      }
      const key = `${round % 2 ? "two processes" : "one process"}: put ${put.status} delete ${del.status} → ${seen[0]}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (new Set(seen).size !== 1 || seen[0] === "listed true pullable false" || seen[0] === "listed false pullable true") inconsistent++;
      if (seen[0]!.startsWith("listed true")) await a.request("DELETE", `/v2/${repo}/manifests/${manifest.digest}`);
    }
    t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
    assert.equal(inconsistent, 0, JSON.stringify([...outcomes]));
  });
});
