import { type ReadStream, createReadStream } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable, Writable } from "node:stream";
import { type Digest, DigestVerifier } from "@berth/oci";
import { isNotFound, streamToFile, touch } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import { sendFileRange } from "./blob-sender.js";
import { blobPath, uploadTempPath } from "./paths.js";
import type { RepositoryStore } from "./repository-store.js";

export interface BlobRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** A blob opened for a download: its size is known and it stays readable until `close`. */
export interface OpenBlob {
  readonly size: number;
  /** Writes the blob (or `range` of it) into `out`, honouring backpressure; does not end `out`. */
  sendTo(out: Writable, range?: BlobRange): Promise<void>;
  close(): Promise<void>;
}

export interface BlobStore {
  /** The blob's size, or undefined when the repository does not hold it. */
  stat(repo: string, digest: Digest): Promise<number | undefined>;
  /**
   * `stat` for a client about to push a manifest that needs the blob (a HEAD before skipping its
   * upload): the blob is made young again for garbage collection (at most once a minute), so it
   * is not collected between this answer and that manifest.
   */
  probe(repo: string, digest: Digest): Promise<number | undefined>;
  read(repo: string, digest: Digest, range?: BlobRange): ReadStream;
  /** Opens the blob for sending (GET), or undefined when the repository does not hold it. */
  open(repo: string, digest: Digest): Promise<OpenBlob | undefined>;
  /** Streams `source` into the repository, verifying `expected` as bytes arrive. */
  write(repo: string, expected: Digest, source: AsyncIterable<Uint8Array> | Readable): Promise<{ size: number }>;
  /** Stores small content already in memory (manifests), verified against `digest`. */
  writeBytes(repo: string, digest: Digest, data: Uint8Array): Promise<void>;
  /** Makes `from`'s blob available in `to` without copying bytes over HTTP (cross-repository mount). */
  mount(from: string, to: string, digest: Digest): Promise<boolean>;
  /** A repository holding the blob, for automatic mounts when the client names no source. */
  locate(digest: Digest): Promise<string | undefined>;
  delete(repo: string, digest: Digest): Promise<boolean>;
}

/** A probed blob's mtime is refreshed when older than this: one utimes a minute for a hot layer. */
const PROBE_TOUCH_EVERY_MS = 60_000;

/** Remembers, per digest, repositories seen holding it (for automatic mounts); bounded. */
const MAX_LOCATIONS = 100_000;

export class FsBlobStore implements BlobStore {
  private readonly locations = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly repositories: RepositoryStore,
    private readonly fs: DurableFs,
  ) {}

  async stat(repo: string, digest: Digest): Promise<number | undefined> {
    try {
      const info = await stat(blobPath(this.root, repo, digest));
      return info.isFile() ? info.size : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async probe(repo: string, digest: Digest): Promise<number | undefined> {
    const path = blobPath(this.root, repo, digest);
    let info: { size: number; mtimeMs: number; isFile(): boolean };
    try {
      info = await stat(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!info.isFile()) return undefined;
    if (info.mtimeMs < Date.now() - PROBE_TOUCH_EVERY_MS) {
      // Best effort (a read-only mount refuses it): the manifest PUT re-checks under the lock anyway.
      const touched = await touch(path).catch(() => true);
      if (!touched) return undefined; // collected an instant ago
    }
    return info.size;
  }

  read(repo: string, digest: Digest, range?: BlobRange): ReadStream {
    const options = range ? { start: range.start, end: range.end } : {};
    return createReadStream(blobPath(this.root, repo, digest), { ...options, highWaterMark: 1 << 20 });
  }

  async open(repo: string, digest: Digest): Promise<OpenBlob | undefined> {
    let file: FileHandle;
    try {
      file = await open(blobPath(this.root, repo, digest), "r");
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw err;
    }
    try {
      const info = await file.stat();
      if (!info.isFile()) {
        await file.close();
        return undefined;
      }
      const size = info.size;
      return {
        size,
        sendTo: (out, range) => (size === 0 ? Promise.resolve() : sendFileRange(file, out, range?.start ?? 0, range?.end ?? size - 1)),
        close: () => file.close(),
      };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async write(repo: string, expected: Digest, source: AsyncIterable<Uint8Array> | Readable): Promise<{ size: number }> {
    const temp = uploadTempPath(this.root, repo, "stream");
    const verifier = new DigestVerifier(expected.algorithm);
    try {
      await streamToFile(source, temp, (chunk) => verifier.update(chunk));
      verifier.verify(expected);
      await this.fs.move(temp, blobPath(this.root, repo, expected));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    this.remember(repo, expected);
    return { size: verifier.size };
  }

  async writeBytes(repo: string, digest: Digest, data: Uint8Array): Promise<void> {
    const verifier = new DigestVerifier(digest.algorithm);
    verifier.update(data);
    verifier.verify(digest);
    const target = blobPath(this.root, repo, digest);
    // Pushed again: young again for garbage collection (an untagged manifest's age is its file's).
    if ((await this.stat(repo, digest)) === data.byteLength && (await touch(target))) {
      // Stored already, maybe by a request still committing it: answer once it is durable.
      await this.fs.awaitDurable(dirname(target));
      return;
    }
    await this.fs.writeFile(target, data);
    this.remember(repo, digest);
  }

  async mount(from: string, to: string, digest: Digest): Promise<boolean> {
    if (from === to) return (await this.stat(to, digest)) !== undefined;
    if (!(await this.repositories.exists(from)) || (await this.stat(from, digest)) === undefined) return false;
    const target = blobPath(this.root, to, digest);
    // A hard link shares its source's mtime, maybe older than the gc delay: touched, so the blob
    // outlives the push it is mounted for. Gone before the touch (collected in between): again.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!(await this.fs.linkOrCopy(blobPath(this.root, from, digest), target))) return false;
      if (await touch(target)) {
        this.remember(to, digest);
        return true;
      }
    }
    return false;
  }

  async locate(digest: Digest): Promise<string | undefined> {
    const remembered = this.locations.get(digest.value);
    if (remembered && (await this.stat(remembered, digest)) !== undefined) return remembered;
    for (const repo of await this.repositories.list()) {
      if ((await this.stat(repo, digest)) !== undefined) {
        this.remember(repo, digest);
        return repo;
      }
    }
    return undefined;
  }

  async delete(repo: string, digest: Digest): Promise<boolean> {
    if (!(await this.fs.remove(blobPath(this.root, repo, digest)))) return false;
    if (this.locations.get(digest.value) === repo) this.locations.delete(digest.value);
    return true;
  }

  private remember(repo: string, digest: Digest): void {
    if (this.locations.size >= MAX_LOCATIONS) this.locations.clear();
    this.locations.set(digest.value, repo);
  }
}
