/**
 * Issue 14's garbage collection and upload expiry on real registry processes. Two replicas over
 * one root collect every second with a 3 s gcDelay while clients push through both, delete
 * images, re-use the layers of deleted images (the HEAD-then-PUT race with a collection) and
 * leave junk blobs: every image whose PUT was acknowledged stays fully pullable from both, and
 * what nothing needs is gone once the delay has passed. `berth gc --dry-run` lists exactly what
 * `berth gc` then removes. An upload session older than uploadMaxAge expires and the
 * open-sessions gauge follows.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { readdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, waitFor } from "@berth/testing";
import { type ContentBlob, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, contentBlob, manifestFor } from "@berth/testing/oci-layout-fixture";
import { ManagedProcess, ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";
import { berth } from "./berth-cli.js";
import { sumSamples } from "./berth-stack.js";

/** How long clients push while both replicas collect (BERTH_GC_RACE_SECONDS; the issue asks for a minute). */
const RACE_SECONDS = Number(process.env.BERTH_GC_RACE_SECONDS ?? 20);
const GC_DELAY_MS = 3000;

interface Replica {
  process: ManagedProcess;
  client: RegistryHttpClient;
}

interface Pushed {
  tag: string;
  manifest: ContentBlob;
  blobs: ContentBlob[];
}

async function startReplicas(group: ProcessGroup, dir: string, root: string, count: number, storage: Record<string, unknown>): Promise<{ replicas: Replica[]; configFile: string }> {
  const replicas: Replica[] = [];
  let configFile = "";
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const config = { storage: { rootDirectory: root, ...storage }, http: { address: "127.0.0.1", port }, log: { level: "warn" } };
    configFile = await writeJsonFile(dir, `config-${i}.json`, config);
    const process = new ManagedProcess({ name: `registry-${i}`, script: "apps/registry/src/main.ts", args: ["--config", configFile], ready: { port } });
    group.processes.push(process);
    replicas.push({ process, client: new RegistryHttpClient(`http://127.0.0.1:${port}`) });
  }
  await Promise.all(replicas.map((r) => r.process.start()));
  return { replicas, configFile };
}


async function blobFiles(root: string, repo: string): Promise<string[]> {
  return (await readdir(join(root, repo, "blobs", "sha256"))).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`).sort();
}

describe("garbage collection on two replicas while clients push", () => {
  const group = new ProcessGroup();
  let dir: { path: string; remove(): Promise<void> };
  let root = "";
  let replicas: Replica[] = [];
  const pick = () => replicas[randomInt(replicas.length)]!.client;

  before(async () => {
    dir = await makeTempDir("gc");
    root = join(dir.path, "storage");
    ({ replicas } = await startReplicas(group, dir.path, root, 2, { gc: true, gcDelay: `${GC_DELAY_MS}ms`, gcInterval: "1s", uploadMaxAge: "3s" }));
  });
  after(async () => {
    await group.stopAll();
    await dir?.remove();
  });

  test(`${RACE_SECONDS} s of pushes, deletes and layer re-use racing collections: every acknowledged image pullable from both, garbage gone after the delay`, { timeout: (RACE_SECONDS + 120) * 1000 }, async () => {
    const repo = "race/app";
    const live = new Map<string, Pushed>();
    /** Unique layers of deleted images: a later push re-uses one (HEAD says present, then a collection may take it). */
    const graveyard: ContentBlob[] = [];
    const junk: ContentBlob[] = [];
    let pushes = 0;
    let refusedThenRetried = 0;
    const deadline = Date.now() + RACE_SECONDS * 1000;

    async function push(worker: number, n: number): Promise<Pushed> {
      const config = contentBlob(Buffer.from(JSON.stringify({ worker, n, salt: randomBytes(4).toString("hex") })), OCI_CONFIG);
      const fresh = contentBlob(randomBytes(256), OCI_LAYER);
      const layers = graveyard.length > 0 ? [graveyard[randomInt(graveyard.length)]!, fresh] : [fresh];
      const manifest = manifestFor(config, layers);
      const tag = `w${worker}-${n}`;
      for (let attempt = 1; attempt <= 10; attempt++) {
        for (const blob of [config, ...layers]) {
          const head = await pick().request("HEAD", `/v2/${repo}/blobs/${blob.digest}`);
          if (head.status === 404) assert.equal(await pick().pushBlob(repo, blob), 201);
          else assert.equal(head.status, 200);
        }
        const res = await pick().putManifest(repo, tag, manifest);
        if (res.status === 201) return { tag, manifest, blobs: [config, ...layers] };
        // A layer collected between the HEAD and the PUT: refused cleanly, the client uploads again.
        assert.equal(res.status, 400, res.body);
        assert.match(res.body, /MANIFEST_BLOB_UNKNOWN/, `${res.status} ${JSON.stringify(res.headers)} [${res.body}]`);
        refusedThenRetried++;
      }
      assert.fail(`${tag}: refused 10 times`);
    }

    await Promise.all(
      [0, 1, 2].map(async (worker) => {
        for (let n = 0; Date.now() < deadline; n++) {
          const pushed = await push(worker, n);
          live.set(pushed.tag, pushed);
          pushes++;
          if (n % 4 === 3) {
            const j = contentBlob(randomBytes(128), OCI_LAYER);
            assert.equal(await pick().pushBlob(repo, j), 201);
            junk.push(j);
          }
          // Every other image is deleted again: its unique layer becomes garbage, and later pushes re-use it.
          if (n % 2 === 1) {
            const victim = [...live.values()].find((p) => p.tag.startsWith(`w${worker}-`))!;
            const res = await pick().request("DELETE", `/v2/${repo}/manifests/${victim.manifest.digest}`);
            assert.equal(res.status, 202, res.body);
            live.delete(victim.tag);
            graveyard.push(victim.blobs.at(-1)!);
          }
        }
      }),
    );
    assert.ok(pushes > 10, `only ${pushes} pushes in ${RACE_SECONDS} s`);

    for (const { client } of replicas) {
      const tags = JSON.parse((await client.request("GET", `/v2/${repo}/tags/list`)).body) as { tags: string[] };
      assert.deepEqual(tags.tags.sort(), [...live.keys()].sort());
      for (const image of live.values()) {
        const got = await client.request("GET", `/v2/${repo}/manifests/${image.tag}`, { headers: { Accept: OCI_MANIFEST } });
        assert.equal(got.status, 200, `${image.tag} from ${client.baseUrl}`);
        assert.equal(got.headers["docker-content-digest"], image.manifest.digest);
        for (const blob of image.blobs) {
          const res = await client.request("GET", `/v2/${repo}/blobs/${blob.digest}`);
          assert.equal(res.status, 200, `${image.tag}'s ${blob.digest} from ${client.baseUrl}`);
          assert.equal(res.headers["content-length"], String(blob.data.length));
        }
      }
    }
    // Once the delay has passed, the blobs left are exactly those of the images still tagged.
    const needed = [...new Set([...live.values()].flatMap((p) => [p.manifest.digest, ...p.blobs.map((b) => b.digest)]))].sort();
    await waitFor("unreferenced blobs to be collected", async () => JSON.stringify(await blobFiles(root, repo)) === JSON.stringify(needed), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    for (const j of junk) assert.equal((await pick().request("HEAD", `/v2/${repo}/blobs/${j.digest}`)).status, 404);
    const metrics = await Promise.all(replicas.map(async (r) => (await r.client.request("GET", "/metrics")).body));
    assert.ok(metrics.reduce((sum, m) => sum + sumSamples(m, "berth_registry_storage_removed_total", { kind: "blob" }), 0) >= junk.length);
    console.log(`# ${pushes} pushes, ${live.size} kept, ${junk.length} junk blobs, ${refusedThenRetried} PUTs refused (layer collected after the HEAD) and retried`);
  });

  test("an upload session older than uploadMaxAge expires and the open-sessions gauge follows", { timeout: 60_000 }, async () => {
    const [r0] = replicas as [Replica];
    const repo = "race/uploads";
    const started = await r0.client.request("POST", `/v2/${repo}/blobs/uploads/`);
    assert.equal(started.status, 202);
    const location = String(started.headers.location);
    const open = async () => sumSamples((await r0.client.request("GET", "/metrics")).body, "berth_registry_upload_sessions_open", {});
    // A sweep that listed the directory just before the POST may count 0 until the next one.
    await waitFor("the gauge to count the session", async () => (await open()) === 1, { timeoutMs: 10_000, intervalMs: 50 });
    await waitFor("the session to expire", async () => (await open()) === 0, { timeoutMs: 30_000, intervalMs: 200 });
    const patched = await r0.client.request("PATCH", location, { headers: { "Content-Type": "application/octet-stream" }, body: "late" });
    assert.equal(patched.status, 404);
    assert.match(patched.body, /BLOB_UPLOAD_UNKNOWN/);
    const expired = await Promise.all(replicas.map(async (r) => sumSamples((await r.client.request("GET", "/metrics")).body, "berth_registry_storage_removed_total", { kind: "upload" })));
    assert.equal(expired.reduce((a, b) => a + b, 0), 1, "one replica expired it");
  });
});

describe("berth gc", () => {
  const group = new ProcessGroup();
  let dir: { path: string; remove(): Promise<void> };

  before(async () => {
    dir = await makeTempDir("gc-cli");
  });
  after(async () => {
    await group.stopAll();
    await dir?.remove();
  });

  test("--dry-run lists exactly what the run then removes; what is kept stays pullable", { timeout: 120_000 }, async () => {
    const root = join(dir.path, "storage");
    // gc off (the default): only the command collects.
    const { replicas, configFile } = await startReplicas(group, dir.path, root, 1, {});
    const { client } = replicas[0]!;
    const repo = "cli/app";
    const layer = (n: number) => contentBlob(Buffer.from(`layer ${n} ${randomBytes(8).toString("hex")}`), OCI_LAYER);
    const config = contentBlob(Buffer.from(`{"n":${randomInt(1000)}}`), OCI_CONFIG);
    const [kept, dropped, junk] = [layer(1), layer(2), layer(3)];
    for (const b of [config, kept, dropped, junk]) assert.equal(await client.pushBlob(repo, b), 201);
    const tagged = manifestFor(config, [kept]);
    const byDigest = manifestFor(config, [dropped]);
    assert.equal((await client.putManifest(repo, "v1", tagged)).status, 201);
    assert.equal((await client.putManifest(repo, byDigest.digest, byDigest)).status, 201);
    const upload = await client.request("POST", `/v2/${repo}/blobs/uploads/`);
    assert.equal(upload.status, 202);
    // Everything older than gcDelay (1h) and uploadMaxAge (168h): as if pushed 10 days ago.
    const then = new Date(Date.now() - 240 * 3_600_000);
    for (const name of await readdir(join(root, repo, "blobs", "sha256"))) await utimes(join(root, repo, "blobs", "sha256", name), then, then);
    for (const name of await readdir(join(root, repo, ".uploads"))) await utimes(join(root, repo, ".uploads", name), then, then);

    const dry = await berth(["gc", "--dry-run", "--config", configFile]);
    assert.equal(dry.code, 0, dry.stderr);
    const listed = dry.stdout.trim().split("\n");
    const summary = listed.pop()!;
    assert.equal(summary, `dry run: would remove 2 blobs, 1 manifest, 1 upload session in 1 repository; would free ${dropped.data.length + junk.data.length + byDigest.data.length} bytes`);
    assert.deepEqual(
      listed.map((l) => l.split(" ").slice(0, 4).join(" ")).sort(),
      [`would remove blob ${repo}@${dropped.digest}`, `would remove blob ${repo}@${junk.digest}`, `would remove manifest ${repo}@${byDigest.digest}`, `would remove upload ${repo}/${String(upload.headers["docker-upload-uuid"])}`].sort(),
    );
    for (const ref of ["v1", byDigest.digest]) assert.equal((await client.request("HEAD", `/v2/${repo}/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } })).status, 200, "a dry run removes nothing");

    const real = await berth(["gc", "--config", configFile]);
    assert.equal(real.code, 0, real.stderr);
    const removed = real.stdout.trim().split("\n");
    assert.equal(removed.pop(), summary.replace("dry run: would remove", "removed").replace("would free", "freed"));
    assert.deepEqual(removed.sort(), listed.map((l) => l.replace("would remove", "removed")).sort(), "the run removes exactly what the dry run listed");

    assert.equal((await client.request("HEAD", `/v2/${repo}/manifests/${byDigest.digest}`, { headers: { Accept: OCI_MANIFEST } })).status, 404);
    for (const b of [dropped, junk]) assert.equal((await client.request("HEAD", `/v2/${repo}/blobs/${b.digest}`)).status, 404);
    const pulled = await client.request("GET", `/v2/${repo}/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(pulled.status, 200);
    for (const b of [config, kept]) assert.equal((await client.request("GET", `/v2/${repo}/blobs/${b.digest}`)).status, 200);
    const again = await berth(["gc", "--config", configFile]);
    assert.equal(again.stdout.trim(), "removed 0 blobs, 0 manifests, 0 upload sessions in 1 repository; freed 0 bytes");
  });
});
