import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { OciError, parseDigest, parseManifest } from "@berth/oci";
import { type Storage, openStorage } from "./storage.js";

const sha = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const isCode = (code: string) => (err: unknown) => err instanceof OciError && err.code === code;

function image(configData: Buffer, layerData: Buffer, extra: Record<string, unknown> = {}) {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(configData), size: configData.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layerData), size: layerData.length }],
      ...extra,
    }),
  );
  return { body, digest: parseDigest(sha(body)), parsed: parseManifest(body) };
}

/** The storage contract: what any Storage must do; run here against the filesystem store. */
function storageContract(label: string, open: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>) {
  describe(`storage contract: ${label}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ storage, cleanup } = await open());
    });
    after(() => cleanup());

    it("ensure creates a repository once", async () => {
      assert.equal(await storage.repositories.exists("c/repo"), false);
      const results = await Promise.all([1, 2, 3].map(() => storage.repositories.ensure("c/repo")));
      assert.deepEqual(results.filter(Boolean).length, 1);
      assert.equal(await storage.repositories.exists("c/repo"), true);
    });

    it("announces a repository it creates exactly once, however many writers race to create it", async () => {
      const announced: string[] = [];
      const announce = async () => {
        announced.push("c/announced");
      };
      const results = await Promise.all([1, 2, 3].map(() => storage.repositories.ensure("c/announced", announce)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(announced, ["c/announced"]);
      assert.deepEqual(await storage.repositories.unannounced(), []);
    });

    it("a creation whose announcement failed is announced by the next ensure, and listed until then", async () => {
      await assert.rejects(
        storage.repositories.ensure("c/crashed", async () => {
          throw new Error("died before the event was durable");
        }),
        /died before/,
      );
      assert.equal(await storage.repositories.exists("c/crashed"), true, "the repository itself was created");
      // As after a restart: a new store over the same root.
      const restarted = (await openStorage(storage.root)).repositories;
      assert.deepEqual(await restarted.unannounced(), ["c/crashed"]);
      const announced: string[] = [];
      assert.equal(await restarted.ensure("c/crashed", async () => void announced.push("retry")), false);
      assert.deepEqual(announced, ["retry"]);
      assert.deepEqual(await restarted.unannounced(), []);
      await restarted.ensure("c/crashed", async () => void announced.push("again"));
      assert.deepEqual(announced, ["retry"], "announced once");
    });

    it("writes a blob from a stream, verifying its digest; a mismatch stores nothing", async () => {
      const data = randomBytes(300_000);
      const digest = parseDigest(sha(data));
      const { size } = await storage.blobs.write("c/repo", digest, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      assert.equal(size, data.length);
      assert.equal(await storage.blobs.stat("c/repo", digest), data.length);
      const wrong = parseDigest(sha("other"));
      await assert.rejects(storage.blobs.write("c/repo", wrong, Readable.from([data])), isCode("DIGEST_INVALID"));
      assert.equal(await storage.blobs.stat("c/repo", wrong), undefined);
      const uploads = await readdir(join(storage.root, "c/repo/.uploads"));
      assert.deepEqual(uploads, [], "no temp files left behind");
    });

    it("chunked uploads check offsets; completion verifies and moves into blobs", async () => {
      const data = randomBytes(3000);
      const id = await storage.uploads.create("c/repo");
      assert.equal(await storage.uploads.append("c/repo", id, Readable.from([data.subarray(0, 1000)]), { start: 0, end: 999 }), 1000);
      await assert.rejects(
        storage.uploads.append("c/repo", id, Readable.from([data.subarray(2000)]), { start: 2000, end: 2999 }),
        (e: unknown) => e instanceof OciError && e.status === 416,
      );
      assert.equal(await storage.uploads.size("c/repo", id), 1000);
      await storage.uploads.append("c/repo", id, Readable.from([data.subarray(1000)]));
      const { size } = await storage.uploads.complete("c/repo", id, parseDigest(sha(data)));
      assert.equal(size, 3000);
      await assert.rejects(storage.uploads.size("c/repo", id), isCode("BLOB_UPLOAD_UNKNOWN"));
      await assert.rejects(storage.uploads.size("c/repo", "../../etc"), isCode("BLOB_UPLOAD_UNKNOWN"));
    });

    it("a sha512 completion re-hashes the upload", async () => {
      const data = randomBytes(100);
      const id = await storage.uploads.create("c/repo");
      await storage.uploads.append("c/repo", id, Readable.from([data]));
      const digest = parseDigest(`sha512:${createHash("sha512").update(data).digest("hex")}`);
      await storage.uploads.complete("c/repo", id, digest);
      assert.equal(await storage.blobs.stat("c/repo", digest), 100);
    });

    it("manifests: put/get by tag and digest, tags sorted, MANIFEST_BLOB_UNKNOWN for missing blobs", async () => {
      const config = Buffer.from("{}");
      const layer = randomBytes(10);
      const img = image(config, layer);
      await assert.rejects(storage.manifests.put("c/repo", { reference: "v1", body: img.body, digest: img.digest, parsed: img.parsed }), isCode("MANIFEST_BLOB_UNKNOWN"));
      await storage.blobs.write("c/repo", parseDigest(sha(config)), Readable.from([config]));
      await storage.blobs.write("c/repo", parseDigest(sha(layer)), Readable.from([layer]));
      assert.deepEqual(await storage.manifests.put("c/repo", { reference: "v1", body: img.body, digest: img.digest, parsed: img.parsed }), { changed: true });
      assert.deepEqual(await storage.manifests.put("c/repo", { reference: "v1", body: img.body, digest: img.digest, parsed: img.parsed }), { changed: false });
      await storage.manifests.put("c/repo", { reference: "a", body: img.body, digest: img.digest, parsed: img.parsed });
      assert.deepEqual(await storage.manifests.tags("c/repo"), ["a", "v1"]);
      assert.deepEqual((await storage.manifests.get("c/repo", "v1")).body, img.body);
      assert.equal((await storage.manifests.get("c/repo", img.digest.value)).mediaType, "application/vnd.oci.image.manifest.v1+json");
      await assert.rejects(storage.manifests.get("c/repo", "nope"), isCode("MANIFEST_UNKNOWN"));

      // index.json is drawn from the tag log after a bounded delay; flushViews draws it now.
      await storage.flushViews();
      const onDisk = JSON.parse(await readFile(join(storage.root, "c/repo/index.json"), "utf8"));
      assert.equal(onDisk.manifests.length, 2);
      assert.deepEqual(JSON.parse(await readFile(join(storage.root, "c/repo/oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
    });

    it("referrers: manifests whose subject is the digest", async () => {
      const config = Buffer.from("{}");
      const layer = randomBytes(10);
      const subject = image(config, layer);
      await storage.blobs.write("c/repo", parseDigest(sha(layer)), Readable.from([layer]));
      await storage.manifests.put("c/repo", { reference: "s", body: subject.body, digest: subject.digest, parsed: subject.parsed });
      const ref = image(config, layer, { artifactType: "application/x.sig", subject: { mediaType: subject.parsed.mediaType, digest: subject.digest.value, size: subject.body.length } });
      await storage.manifests.put("c/repo", { reference: ref.digest.value, body: ref.body, digest: ref.digest, parsed: ref.parsed });
      const found = await storage.manifests.referrers("c/repo", subject.digest.value);
      assert.deepEqual(found.map((d) => [d.digest, d.artifactType]), [[ref.digest.value, "application/x.sig"]]);
    });

    it("deletes: tag untags, digest removes, blob delete", async () => {
      const { digest } = await storage.manifests.get("c/repo", "a");
      const untagged = await storage.manifests.delete("c/repo", "a");
      assert.deepEqual(untagged.tags, ["a"]);
      assert.deepEqual(await storage.manifests.tags("c/repo"), ["s", "v1"]);
      const removed = await storage.manifests.delete("c/repo", digest);
      assert.equal(removed.digest, digest);
      await assert.rejects(storage.manifests.get("c/repo", "v1"), isCode("MANIFEST_UNKNOWN"));
      await assert.rejects(storage.manifests.delete("c/repo", digest), isCode("MANIFEST_UNKNOWN"));
      const blob = parseDigest(sha(Buffer.from("{}")));
      assert.equal(await storage.blobs.delete("c/repo", blob), true);
      assert.equal(await storage.blobs.delete("c/repo", blob), false);
    });

    it("100 concurrent tag updates to one repository: none lost", async () => {
      const config = Buffer.from('{"x":1}');
      const layer = randomBytes(10);
      await storage.repositories.ensure("c/many");
      await storage.blobs.write("c/many", parseDigest(sha(config)), Readable.from([config]));
      await storage.blobs.write("c/many", parseDigest(sha(layer)), Readable.from([layer]));
      const img = image(config, layer);
      const tags = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, "0")}`);
      await Promise.all(tags.map((reference) => storage.manifests.put("c/many", { reference, body: img.body, digest: img.digest, parsed: img.parsed })));
      assert.deepEqual(await storage.manifests.tags("c/many"), tags);
      const reopened = await openStorage(storage.root);
      assert.deepEqual(await reopened.manifests.tags("c/many"), tags, "index.json on disk has them all");
    });

    it("mounts a blob across repositories and locates it for automatic mounts", async () => {
      const data = randomBytes(50);
      const digest = parseDigest(sha(data));
      await storage.repositories.ensure("c/src");
      await storage.blobs.write("c/src", digest, Readable.from([data]));
      assert.equal(await storage.blobs.locate(digest), "c/src");
      assert.equal(await storage.blobs.mount("c/src", "c/dst", digest), true);
      assert.equal(await storage.blobs.stat("c/dst", digest), 50);
      assert.equal(await storage.blobs.mount("c/none", "c/dst", parseDigest(sha("x"))), false);
    });

    it("lists repositories (catalog)", async () => {
      const list = await storage.repositories.list();
      for (const repo of ["c/repo", "c/many", "c/src"]) assert.ok(list.includes(repo), repo);
    });
  });
}

storageContract("filesystem", async () => {
  const root = await mkdtemp(join(tmpdir(), "berth-storage-"));
  const storage = await openStorage(root);
  // index.json's delayed redraw must not write into the tree while it is being removed.
  return { storage, cleanup: () => storage.flushViews().then(() => rm(root, { recursive: true, force: true })) };
});

describe("an existing zot root is served as it is", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-zot-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("reads zot's repositories, tags and blobs, and ignores zot's own files", async () => {
    const config = Buffer.from('{"architecture":"amd64"}');
    const layer = randomBytes(20);
    const img = image(config, layer);
    const repo = join(root, "zot", "alpine");
    await mkdir(join(repo, "blobs", "sha256"), { recursive: true });
    await mkdir(join(repo, ".uploads"), { recursive: true });
    for (const data of [config, layer, img.body]) await writeFile(join(repo, "blobs", "sha256", sha(data).slice(7)), data);
    await writeFile(join(repo, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(
      join(repo, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: img.digest.value, size: img.body.length, annotations: { "org.opencontainers.image.ref.name": "3.19" } }] }),
    );
    await writeFile(join(root, "cache.db"), "bolt");
    await mkdir(join(root, "_trivy", "db"), { recursive: true });

    const storage = await openStorage(root);
    assert.deepEqual(await storage.repositories.list(), ["zot/alpine"]);
    assert.deepEqual(await storage.manifests.tags("zot/alpine"), ["3.19"]);
    assert.deepEqual((await storage.manifests.get("zot/alpine", "3.19")).body, img.body);
    assert.equal(await storage.blobs.stat("zot/alpine", parseDigest(sha(layer))), 20);
  });

  it("a repository without .uploads/ (an OCI layout copied in by skopeo) takes a streamed blob", async () => {
    const repo = join(root, "copied", "app");
    await mkdir(join(repo, "blobs", "sha256"), { recursive: true });
    await writeFile(join(repo, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(repo, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    const storage = await openStorage(root);
    const data = randomBytes(64);
    const digest = parseDigest(sha(data));
    assert.deepEqual(await storage.blobs.write("copied/app", digest, Readable.from([data])), { size: 64 });
    assert.equal(await storage.blobs.stat("copied/app", digest), 64);
  });
});
