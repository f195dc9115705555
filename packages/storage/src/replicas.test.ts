import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { OciError, parseDigest, parseManifest } from "@berth/oci";
import { REF_NAME_ANNOTATION } from "./oci-index.js";
import { tagLogPath } from "./paths.js";
import { type Storage, openStorage } from "./storage.js";

const sha = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const CONFIG = Buffer.from("{}");

function image(n: number) {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(CONFIG), size: CONFIG.length },
      layers: [],
      annotations: { n: String(n) },
    }),
  );
  return { body, digest: parseDigest(sha(body)), parsed: parseManifest(body) };
}

async function withConfig(storage: Storage, repo: string): Promise<void> {
  await storage.repositories.ensure(repo);
  await storage.blobs.write(repo, parseDigest(sha(CONFIG)), Readable.from([CONFIG]));
}

const put = (s: Storage, repo: string, tag: string, img: ReturnType<typeof image>) =>
  s.manifests.put(repo, { reference: tag, body: img.body, digest: img.digest, parsed: img.parsed });

async function indexJsonTags(root: string, repo: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(join(root, repo, "index.json"), "utf8")) as { manifests: Array<{ annotations?: Record<string, string> }> };
  return doc.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((t): t is string => !!t).sort();
}

/** Two stores over one root share only the filesystem, as two registry processes do. */
describe("storage replicas over one root", () => {
  let root: string;
  let a: Storage;
  let b: Storage;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-replicas-"));
    a = await openStorage(root, { indexViewDelayMs: 50 });
    b = await openStorage(root, { indexViewDelayMs: 50 });
  });
  after(async () => {
    await Promise.all([a.flushViews(), b.flushViews()]);
    await rm(root, { recursive: true, force: true });
  });

  it("writes from both replicas are serialised: no tag lost, each sees the other's at once", async () => {
    await withConfig(a, "r/both");
    const tags = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    await Promise.all(tags.map((tag, i) => put(i % 2 ? a : b, "r/both", tag, image(i))));
    assert.deepEqual([...(await a.manifests.tags("r/both"))], tags);
    assert.deepEqual([...(await b.manifests.tags("r/both"))], tags);
    await put(a, "r/both", "late", image(1000));
    assert.equal((await b.manifests.get("r/both", "late")).digest, image(1000).digest.value, "no stale read");
    await b.manifests.delete("r/both", "late");
    await assert.rejects(a.manifests.get("r/both", "late"), (e: unknown) => e instanceof OciError && e.code === "MANIFEST_UNKNOWN");
    await Promise.all([a.flushViews(), b.flushViews()]);
    assert.deepEqual(await indexJsonTags(root, "r/both"), tags);
  });

  it("repository.created is announced by one replica only", async () => {
    const announced: string[] = [];
    const results = await Promise.all(
      [a, b, a, b].map((s, i) => s.repositories.ensure("r/created", async () => void announced.push(String(i)))),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(announced.length, 1);
    assert.ok((await b.repositories.list()).includes("r/created"));
    assert.ok((await a.repositories.list()).includes("r/created"), "the catalog of the other replica is revalidated");
  });

  it("tag PUT racing DELETE by digest: tag and manifest are both there or both gone, on one store and across two", async () => {
    await withConfig(a, "r/race");
    const rounds = Number(process.env.BERTH_RACE_ROUNDS ?? 40);
    let inconsistent = 0;
    for (let round = 0; round < rounds; round++) {
      const img = image(5000);
      const [writer, deleter] = round % 2 ? [a, b] : [a, a];
      await put(writer, "r/race", "seed", img);
      // A barrier: both start in the same turn of the event loop.
      await Promise.allSettled([put(writer, "r/race", `t${round}`, img), deleter.manifests.delete("r/race", img.digest.value)]);
      const tagged = (await b.manifests.tags("r/race")).includes(`t${round}`);
      const pullable = await b.manifests.get("r/race", `t${round}`).then(
        () => true,
        () => false,
      );
      const bytes = await b.blobs.stat("r/race", img.digest);
      if (tagged !== pullable || (tagged && bytes === undefined)) inconsistent++;
      if (tagged) await a.manifests.delete("r/race", img.digest.value);
    }
    assert.equal(inconsistent, 0);
  });

  it("an existing zot repository (tags only in index.json) is served, then its first write keeps every tag", async () => {
    await mkdir(join(root, "zot", "app", "blobs", "sha256"), { recursive: true });
    const img = image(7);
    await writeFile(join(root, "zot", "app", "blobs", "sha256", img.digest.hex), img.body);
    await writeFile(join(root, "zot", "app", "blobs", "sha256", parseDigest(sha(CONFIG)).hex), CONFIG);
    await writeFile(join(root, "zot", "app", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    const entry = { mediaType: img.parsed.mediaType, digest: img.digest.value, size: img.body.length };
    await writeFile(
      join(root, "zot", "app", "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, annotations: { [REF_NAME_ANNOTATION]: "old" } }] }),
    );
    assert.deepEqual([...(await a.manifests.tags("zot/app"))], ["old"]);
    await put(b, "zot/app", "new", image(8));
    assert.deepEqual([...(await a.manifests.tags("zot/app"))], ["new", "old"]);
    await b.flushViews();
    assert.deepEqual(await indexJsonTags(root, "zot/app"), ["new", "old"]);
  });

  it("a replica that dies before drawing index.json: the next start-up draws it; a torn last line is ignored and overwritten", async () => {
    await withConfig(a, "r/crash");
    const dying = await openStorage(root, { indexViewDelayMs: 60_000 });
    for (let i = 0; i < 5; i++) await put(dying, "r/crash", `c${i}`, image(9000 + i));
    // As if the process died mid-append of an unacknowledged record.
    await appendFile(tagLogPath(root, "r/crash"), '{"op":"tag","tag":"torn","m":{"digest":"sha');
    const restarted = await openStorage(root, { indexViewDelayMs: 10 });
    await restarted.catchUpViews();
    await restarted.flushViews();
    assert.deepEqual(await indexJsonTags(root, "r/crash"), ["c0", "c1", "c2", "c3", "c4"]);
    await put(restarted, "r/crash", "c5", image(9005));
    assert.deepEqual([...(await a.manifests.tags("r/crash"))], ["c0", "c1", "c2", "c3", "c4", "c5"]);
    assert.doesNotMatch(await readFile(tagLogPath(root, "r/crash"), "utf8"), /torn/);
  });

  it("re-tagging one tag many times compacts the log; readers on the other replica follow the new file", async () => {
    await withConfig(a, "r/compact");
    // 1,500 changes of one tag (group-committed 50 at a time per replica): the log would hold 1,500 lines.
    for (let i = 0; i < 1500; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => put(j % 2 ? a : b, "r/compact", "latest", image((i + j) % 5))));
    }
    assert.ok((await stat(tagLogPath(root, "r/compact"))).size < 100_000, "compacted");
    await put(b, "r/compact", "other", image(3));
    assert.deepEqual([...(await a.manifests.tags("r/compact"))], ["latest", "other"]);
    assert.equal((await a.manifests.get("r/compact", "latest")).digest, (await b.manifests.get("r/compact", "latest")).digest);
  });
});

/**
 * Reads revalidate the cached state of a repository before answering: with one stat of tags.log
 * on a local filesystem, with open + fstat where a stat could be stale (NFS). Both paths, both
 * kinds of change another replica makes: an append, a removal, and a file that is not the one read.
 */
for (const networkFilesystem of [false, true]) {
  describe(`a read on one replica sees the other's last write (${networkFilesystem ? "open + fstat" : "stat"})`, () => {
    let root: string;
    let a: Storage;
    let b: Storage;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), "berth-revalidate-"));
      a = await openStorage(root, { indexViewDelayMs: 60_000, networkFilesystem });
      b = await openStorage(root, { indexViewDelayMs: 60_000, networkFilesystem });
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it("a tag pushed on A is served by B's very next read; a manifest deleted on A is gone on B's next read", async () => {
      await withConfig(a, "v/next");
      await put(a, "v/next", "one", image(1));
      assert.equal((await b.manifests.get("v/next", "one")).digest, image(1).digest.value); // B caches state and bytes
      await put(a, "v/next", "two", image(2));
      assert.equal((await b.manifests.get("v/next", "two")).digest, image(2).digest.value);
      assert.deepEqual([...(await b.manifests.tags("v/next"))], ["one", "two"]);
      await a.manifests.delete("v/next", image(1).digest.value);
      await assert.rejects(b.manifests.get("v/next", "one"), (e: unknown) => e instanceof OciError && e.code === "MANIFEST_UNKNOWN");
      await assert.rejects(b.manifests.get("v/next", image(1).digest.value), (e: unknown) => e instanceof OciError && e.code === "MANIFEST_UNKNOWN");
      assert.deepEqual([...(await b.manifests.tags("v/next"))], ["two"]);
    });

    it("tags.log replaced by another file of the same size (as a reused inode would be) is read again", async () => {
      await withConfig(a, "v/same");
      await put(a, "v/same", "aaaa", image(11));
      assert.deepEqual([...(await b.manifests.tags("v/same"))], ["aaaa"]);
      const path = tagLogPath(root, "v/same");
      const before = await stat(path);
      const text = await readFile(path, "utf8");
      const gen = (JSON.parse(text.slice(0, text.indexOf("\n"))) as { gen: string }).gen;
      const other = text.replace(gen, "f".repeat(gen.length)).replace('"tag":"aaaa"', '"tag":"bbbb"');
      assert.equal(other.length, text.length);
      // Rewritten in place: same inode, same size. Rewrite until the ctime moved (its clock ticks coarsely).
      while ((await stat(path)).ctimeMs === before.ctimeMs) {
        await writeFile(path, other);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal((await stat(path)).ino, before.ino);
      assert.deepEqual([...(await b.manifests.tags("v/same"))], ["bbbb"]);
    });
  });
}
