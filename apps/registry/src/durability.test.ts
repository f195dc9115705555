/**
 * "Durable before the answer" against a power loss, not only a killed process (issue 21): every
 * change the storage makes inside its root (a rename, a link, a new file or directory, a removal)
 * must have its directory fsync'd before the registry answers the request that made it. The
 * storage's write layer reports each change and each directory fsync in order; the test adds each
 * answer the client received, then replays the record.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { dirname, relative } from "node:path";
import { describe, it } from "node:test";
import type { FsChange } from "@berth/storage";
import { call } from "./test-support/client.js";
import { blobOf, descriptor, makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

type Entry = FsChange | { op: "answer"; request: string; status: number };

interface Violation {
  request: string;
  unsynced: string[];
}

/** Changes still waiting for a directory fsync when an answer reached the client. */
function answersBeforeDurable(log: Entry[], root: string): Violation[] {
  const dirty = new Map<string, Set<string>>();
  const coveredBySync = new Map<number, Set<string>>();
  const violations: Violation[] = [];
  const touch = (dir: string, what: string) => {
    const set = dirty.get(dir) ?? new Set<string>();
    set.add(what);
    dirty.set(dir, set);
  };
  const isTemp = (path: string) => path.endsWith(".tmp");
  for (const entry of log) {
    switch (entry.op) {
      case "create":
      case "mkdir":
      case "unlink":
        // A temp file is never an acknowledged state; what it is renamed to is.
        if (!isTemp(entry.path)) touch(dirname(entry.path), `${entry.op} ${relative(root, entry.path)}`);
        break;
      case "rename":
      case "link":
        touch(dirname(entry.to), `${entry.op} ${relative(root, entry.to)}`);
        break;
      case "sync-dir-start":
        // Only changes made before the fsync started are covered by it.
        coveredBySync.set(entry.id, new Set(dirty.get(entry.path)));
        break;
      case "sync-dir": {
        const set = dirty.get(entry.path);
        for (const what of coveredBySync.get(entry.id) ?? []) set?.delete(what);
        if (set?.size === 0) dirty.delete(entry.path);
        break;
      }
      case "answer": {
        const unsynced = [...dirty.values()].flatMap((s) => [...s]);
        if (unsynced.length > 0) violations.push({ request: `${entry.request} → ${entry.status}`, unsynced });
        break;
      }
    }
  }
  return violations;
}

/** A full image push (monolithic and chunked blobs), a mount, a cancelled session, a tag and manifest delete. */
async function pushAndDelete(reg: RunningRegistry, log: Entry[]): Promise<void> {
  const send = async (method: string, path: string, init: Parameters<typeof call>[3] = {}, expected?: number) => {
    const res = await call(reg.url, method, path, init);
    log.push({ op: "answer", request: `${method} ${path.split("?")[0]}`, status: res.status });
    if (expected !== undefined) assert.equal(res.status, expected, `${method} ${path}: ${res.text}`);
    return res;
  };
  const image = makeImage({ layerBytes: 4096 });
  const [layer] = image.layers;
  assert.ok(layer);
  const octets = { "Content-Type": "application/octet-stream" };
  // Monolithic upload: creates the repository (directories, index.json, marker, oci-layout).
  await send("POST", `/v2/dur/app/blobs/uploads/?digest=${layer.digest}`, { headers: octets, body: layer.data }, 201);
  // An upload session: POST, PATCH, PUT.
  const started = await send("POST", "/v2/dur/app/blobs/uploads/", {}, 202);
  const location = started.headers.get("location") ?? "";
  await send("PATCH", location, { headers: { ...octets, "Content-Range": `0-${image.config.data.length - 1}` }, body: image.config.data }, 202);
  await send("PUT", `${location}?digest=${image.config.digest}`, {}, 201);
  await send("PUT", "/v2/dur/app/manifests/v1", { headers: { "Content-Type": image.mediaType }, body: image.manifest }, 201);
  // A second tag for the same manifest, then a cross-repository mount into a new repository.
  await send("PUT", "/v2/dur/app/manifests/v2", { headers: { "Content-Type": image.mediaType }, body: image.manifest }, 201);
  await send("POST", `/v2/dur/other/blobs/uploads/?mount=${layer.digest}&from=dur/app`, {}, 201);
  // A session started and cancelled.
  const cancelled = await send("POST", "/v2/dur/app/blobs/uploads/", {}, 202);
  await send("DELETE", cancelled.headers.get("location") ?? "", {}, 204);
  // Tag delete, then the manifest by digest, then a blob nothing references any more.
  await send("DELETE", "/v2/dur/app/manifests/v2", {}, 202);
  await send("DELETE", `/v2/dur/app/manifests/${image.digest}`, {}, 202);
  await send("DELETE", `/v2/dur/app/blobs/${layer.digest}`, {}, 202);
  // A manifest blob written on its own (a config pushed with writeBytes' path: manifest by digest).
  const extra = blobOf(randomBytes(64), "application/vnd.oci.image.config.v1+json");
  await send("POST", `/v2/dur/app/blobs/uploads/?digest=${extra.digest}`, { headers: octets, body: extra.data }, 201);
  const other = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: image.mediaType, config: descriptor(extra), layers: [] }),
  );
  await send("PUT", "/v2/dur/app/manifests/v3", { headers: { "Content-Type": image.mediaType }, body: other }, 201);
}

describe("storage durability: every change inside the root is fsync'd before the answer", () => {
  it("a push, a mount, an upload session, a tag delete and deletes: no answer precedes its directory fsync", async () => {
    const log: Entry[] = [];
    // index.json's redraw from the tag log is a background write no answer waits for (made durable
    // on its own, see the storage's tests): held back here so it cannot interleave with the answers.
    const reg = await startRegistry({ storageOptions: { fs: { observe: (change) => log.push(change) }, indexViewDelayMs: 3_600_000 } });
    try {
      await pushAndDelete(reg, log);
    } finally {
      await reg.stop();
    }
    assert.ok(log.some((e) => e.op === "sync-dir"), "directory fsyncs were recorded");
    assert.deepEqual(answersBeforeDurable(log, reg.root), []);
  });

  it("the check catches what the registry did before (renames never followed by a directory fsync)", async () => {
    // Directory fsyncs off: the system calls the storage made before durable-fs (file fsync + rename).
    const log: Entry[] = [];
    const reg = await startRegistry({ storageOptions: { fs: { observe: (change) => log.push(change), syncDirectories: false }, indexViewDelayMs: 3_600_000 } });
    try {
      await pushAndDelete(reg, log);
    } finally {
      await reg.stop();
    }
    const violations = answersBeforeDurable(log, reg.root);
    const unsynced = violations.flatMap((v) => v.unsynced);
    for (const expected of ["rename dur/app/index.json", "rename dur/app/oci-layout", "unlink dur/app/.berth-unannounced", "link dur/other/blobs/sha256/"]) {
      assert.ok(unsynced.some((u) => u.startsWith(expected)), `${expected} is flagged: ${JSON.stringify(violations, null, 1)}`);
    }
    assert.ok(unsynced.some((u) => /^rename dur\/app\/blobs\/sha256\/[0-9a-f]{64}$/.test(u)), "a blob moved into blobs/ is flagged");
    assert.ok(unsynced.some((u) => /^create dur\/app\/\.uploads\//.test(u)), "an upload session is flagged");
  });
});
