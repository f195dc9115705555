import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { OciError, parseDigest, parseManifest } from "@berth/oci";
import { waitFor } from "@berth/testing";
import { FsBlobStore } from "./blob-store.js";
import { DurableFs, type FsChange } from "./durable-fs.js";
import { type CollectedItem, GarbageCollector } from "./garbage-collector.js";
import { LeaseLocks } from "./lease-lock.js";
import { FsManifestStore } from "./manifest-store.js";
import { blobPath, uploadPath } from "./paths.js";
import { RepositoryIndexes } from "./repository-indexes.js";
import { FsRepositoryStore } from "./repository-store.js";
import { type Storage, openStorage } from "./storage.js";

const HOUR = 3_600_000;
const sha = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const IMAGE = "application/vnd.oci.image.manifest.v1+json";
const INDEX = "application/vnd.oci.image.index.v1+json";

interface Blob {
  digest: string;
  body: Buffer;
}

const blob = (text: string): Blob => {
  const body = Buffer.from(text);
  return { digest: sha(body), body };
};
const descriptor = (b: Blob, mediaType: string) => ({ mediaType, digest: b.digest, size: b.body.length });

function image(config: Blob, layers: Blob[], subject?: Blob): Blob {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: IMAGE,
    config: descriptor(config, "application/vnd.oci.image.config.v1+json"),
    layers: layers.map((l) => descriptor(l, "application/vnd.oci.image.layer.v1.tar")),
  };
  if (subject) doc.subject = descriptor(subject, IMAGE);
  return blob(JSON.stringify(doc));
}

const index = (children: Blob[]): Blob => blob(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: children.map((c) => descriptor(c, IMAGE)) }));

async function pushBlob(s: Storage, repo: string, b: Blob): Promise<void> {
  await s.blobs.write(repo, parseDigest(b.digest), Readable.from([b.body]));
}

const putManifest = (s: Storage, repo: string, reference: string, m: Blob) =>
  s.manifests.put(repo, { reference, body: m.body, digest: parseDigest(m.digest), parsed: parseManifest(m.body) });

async function age(root: string, repo: string, blobs: Blob[], ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const b of blobs) await utimes(blobPath(root, repo, parseDigest(b.digest)), then, then);
}

const exists = (root: string, repo: string, b: Blob) =>
  stat(blobPath(root, repo, parseDigest(b.digest))).then(
    () => true,
    () => false,
  );

const key = (i: CollectedItem) => `${i.repository} ${i.kind} ${i.digest} ${i.bytes}`;

describe("garbage collection", () => {
  let root: string;
  let storage: Storage;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-gc-"));
    storage = await openStorage(root, { indexViewDelayMs: 50 });
  });
  after(async () => {
    await storage.flushViews();
    await rm(root, { recursive: true, force: true });
  });

  it("removes what no kept manifest needs once older than the delay; the dry run lists exactly that", async () => {
    const repo = "gc/app";
    await storage.repositories.ensure(repo);
    const [config, l1, orphan, young, l4, l5, l6, l7] = ["config", "l1", "orphan", "young", "l4", "l5", "l6", "l7"].map(blob) as Blob[] as [Blob, Blob, Blob, Blob, Blob, Blob, Blob, Blob];
    for (const b of [config, l1, orphan, young, l4, l5, l6, l7]) await pushBlob(storage, repo, b);
    const tagged = image(config, [l1]);
    const untagged = image(config, [l4]); // pushed by digest, nothing refers to it
    const child = image(config, [l5]); // untagged, but a tagged index needs it
    const multi = index([child]);
    const signature = image(config, [l6], tagged); // a referrer of a kept manifest
    const orphanSignature = image(config, [l7], blob("a manifest never pushed")); // a referrer of nothing here
    const signed = image(config, [l4, l5]); // untagged, but an (untagged) signature refers to it
    const signedSignature = image(config, [l6], signed);
    await putManifest(storage, repo, "v1", tagged);
    for (const m of [untagged, child, signature, orphanSignature, signed, signedSignature]) await putManifest(storage, repo, m.digest, m);
    await putManifest(storage, repo, "multi", multi);
    const all = [config, l1, orphan, l4, l5, l6, l7, tagged, untagged, child, multi, signature, orphanSignature, signed, signedSignature];
    await age(root, repo, all, 2 * HOUR);

    const dry = await storage.collectGarbage({ delayMs: HOUR, dryRun: true });
    const expected = [
      `${repo} manifest ${untagged.digest} ${untagged.body.length}`,
      `${repo} manifest ${orphanSignature.digest} ${orphanSignature.body.length}`,
      `${repo} blob ${orphan.digest} ${orphan.body.length}`,
      `${repo} blob ${l7.digest} ${l7.body.length}`,
    ].sort();
    assert.deepEqual(dry.removed.map(key).sort(), expected);
    for (const b of all) assert.ok(await exists(root, repo, b), "a dry run removes nothing");

    const real = await storage.collectGarbage({ delayMs: HOUR });
    assert.deepEqual(real.removed.map(key).sort(), dry.removed.map(key).sort(), "the run removes exactly what the dry run listed");
    assert.equal(real.bytes, dry.bytes);
    for (const b of [untagged, orphanSignature, orphan, l7]) assert.equal(await exists(root, repo, b), false, b.body.toString());
    for (const b of [config, l1, young, l4, l5, l6, tagged, child, multi, signature, signed, signedSignature]) assert.ok(await exists(root, repo, b), b.body.toString());
    for (const ref of ["v1", "multi", child.digest, signature.digest, signed.digest, signedSignature.digest]) assert.ok(await storage.manifests.get(repo, ref));
    await assert.rejects(storage.manifests.get(repo, untagged.digest), (e: unknown) => e instanceof OciError && e.code === "MANIFEST_UNKNOWN");
    assert.deepEqual((await storage.manifests.referrers(repo, tagged.digest)).map((d) => d.digest), [signature.digest]);

    assert.deepEqual((await storage.collectGarbage({ delayMs: HOUR })).removed, [], "nothing left to collect");
  });

  it("a PUT whose blob is collected between its check and its record is refused, never left dangling", async () => {
    const repo = "gc/race";
    const seen: FsChange[] = [];
    const waiters: Array<() => void> = [];
    const observe = (change: FsChange) => {
      seen.push(change);
      for (const wake of waiters.splice(0)) wake();
    };
    const racer = await openStorage(root, { lock: { leaseMs: 60_000, waitMs: 60_000 }, fs: { observe } });
    await racer.repositories.ensure(repo);
    const config = blob("race-config");
    const layer = blob("race-layer");
    await pushBlob(racer, repo, config);
    await pushBlob(racer, repo, layer);
    const manifest = image(config, [layer]);
    // Another replica holds the repository's lock (collecting): the PUT checks, stores its bytes, then waits.
    const lock = join(root, repo, ".berth", "lock");
    await mkdir(join(root, repo, ".berth"), { recursive: true });
    await writeFile(lock, JSON.stringify({ owner: "other-replica:1", id: "gc" }), { flag: "wx" });
    const put = putManifest(racer, repo, "v1", manifest);
    const manifestPath = blobPath(root, repo, parseDigest(manifest.digest));
    while (!seen.some((c) => c.op === "rename" && c.to === manifestPath)) await new Promise<void>((resolve) => waiters.push(resolve));
    // …which removes the layer it found unneeded, and lets go.
    await unlink(blobPath(root, repo, parseDigest(layer.digest)));
    await unlink(lock);
    await assert.rejects(put, (e: unknown) => e instanceof OciError && e.code === "MANIFEST_BLOB_UNKNOWN");
    assert.deepEqual([...(await racer.manifests.tags(repo))], [], "no tag for a manifest whose layer is gone");
  });

  it("a PUT committed in the same batch after a collection keeps the blob that collection meant to remove", async () => {
    const repo = "gc/batch";
    const fs = new DurableFs();
    const locks = new LeaseLocks({ leaseMs: 60_000, waitMs: 60_000 });
    const repositories = new FsRepositoryStore(root, fs, locks);
    const blobs = new FsBlobStore(root, repositories, fs);
    const indexes = new RepositoryIndexes(root, locks, { files: fs });
    const manifests = new FsManifestStore(root, indexes, blobs);
    const collector = new GarbageCollector(root, indexes, blobs, fs, async () => [repo]);
    const put = (tag: string, m: Blob) => manifests.put(repo, { reference: tag, body: m.body, digest: parseDigest(m.digest), parsed: parseManifest(m.body) });
    await repositories.ensure(repo);
    const config = blob("batch config");
    const layer = blob("batch layer");
    await pushBlob(storage, repo, config);
    await pushBlob(storage, repo, layer);
    await age(root, repo, [config, layer], 2 * HOUR);
    // Another replica holds the lock: a first write waits for it; the collection and the PUT queue up behind it.
    const lock = join(root, repo, ".berth", "lock");
    await mkdir(join(root, repo, ".berth"), { recursive: true });
    await writeFile(lock, JSON.stringify({ owner: "other-replica:1", id: "held" }), { flag: "wx" });
    const first = put("first", image(config, []));
    await waitFor("the first write to wait for the lock", () => indexes.waiting(repo) === 0);
    const collected = collector.collect({ delayMs: HOUR });
    await waitFor("the collection to queue", () => indexes.waiting(repo) === 1);
    const pushed = put("v1", image(config, [layer]));
    await waitFor("the PUT to queue behind it", () => indexes.waiting(repo) === 2);
    await unlink(lock);
    await first;
    await pushed;
    assert.deepEqual((await collected).removed, [], "the PUT cancelled the removal it needed");
    assert.ok(await exists(root, repo, layer));
    assert.ok(await manifests.get(repo, "v1"));
  });

  it("a blob mounted, uploaded or probed (HEAD) for a manifest not pushed yet is young, however old its bytes", async () => {
    const [from, to] = ["gc/mount-from", "gc/mount-to"];
    await storage.repositories.ensure(from);
    await storage.repositories.ensure(to);
    const mounted = blob("mounted layer");
    await pushBlob(storage, from, mounted);
    await age(root, from, [mounted], 2 * HOUR);
    assert.ok(await storage.blobs.mount(from, to, parseDigest(mounted.digest)));
    // A chunked upload whose last PATCH was long ago, completed now.
    const uploaded = blob("slow upload");
    const id = await storage.uploads.create(to);
    await storage.uploads.append(to, id, Readable.from([uploaded.body]));
    const then = new Date(Date.now() - 2 * HOUR);
    await utimes(uploadPath(root, to, id), then, then);
    await storage.uploads.complete(to, id, parseDigest(uploaded.digest));
    // An old blob a client probed (HEAD) before deciding not to upload it.
    const probed = blob("probed layer");
    await pushBlob(storage, to, probed);
    await age(root, to, [probed], 2 * HOUR);
    assert.equal(await storage.blobs.probe(to, parseDigest(probed.digest)), probed.body.length);
    const result = await storage.collectGarbage({ delayMs: HOUR, repositories: [to] });
    assert.deepEqual(result.removed, []);
    for (const b of [mounted, uploaded, probed]) assert.ok(await exists(root, to, b), b.body.toString());
  });

  it("expires upload sessions untouched for the max age, keeps the others, and counts the open ones", async () => {
    const repo = "gc/uploads";
    await storage.repositories.ensure(repo);
    const stale = await storage.uploads.create(repo);
    const fresh = await storage.uploads.create(repo);
    await storage.uploads.append(repo, stale, Readable.from([Buffer.from("abandoned")]));
    const then = new Date(Date.now() - 2 * HOUR);
    await utimes(uploadPath(root, repo, stale), then, then);
    const dry = await storage.expireUploads({ maxAgeMs: HOUR, dryRun: true });
    assert.deepEqual(dry.expired, [{ repository: repo, id: stale, bytes: 9 }]);
    const result = await storage.expireUploads({ maxAgeMs: HOUR });
    assert.deepEqual(result.expired, [{ repository: repo, id: stale, bytes: 9 }]);
    assert.equal(result.open, 1);
    await assert.rejects(storage.uploads.size(repo, stale), (e: unknown) => e instanceof OciError && e.code === "BLOB_UPLOAD_UNKNOWN");
    assert.equal(await storage.uploads.size(repo, fresh), 0);
    await storage.uploads.cancel(repo, fresh);
    assert.equal(storage.uploads.openSessions(), 0);
  });
});
