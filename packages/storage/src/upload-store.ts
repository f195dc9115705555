import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { type Digest, DigestVerifier, OciError } from "@berth/oci";
import { isNotFound, listDirectory, streamToFile, touch } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { UPLOAD_ID_PATTERN, blobPath, uploadPath, uploadsPath } from "./paths.js";

export interface ChunkRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface UploadStore {
  /** Starts a session; returns its id. */
  create(repo: string): Promise<string>;
  /** Bytes received so far; BLOB_UPLOAD_UNKNOWN when there is no such session. */
  size(repo: string, id: string): Promise<number>;
  /**
   * Appends a chunk. With `range`, the chunk must start where the upload ends (else 416) and
   * carry exactly `end - start + 1` bytes (else SIZE_INVALID).
   */
  append(repo: string, id: string, source: AsyncIterable<Uint8Array> | Readable, range?: ChunkRange): Promise<number>;
  /** Verifies the whole upload against `digest` and moves it into the repository's blobs. */
  complete(repo: string, id: string, digest: Digest): Promise<{ size: number }>;
  cancel(repo: string, id: string): Promise<void>;
  /**
   * Removes the sessions of `repositories` untouched for `maxAgeMs` (their last PATCH), with their
   * bytes; `dryRun` only lists them. A session appended to meanwhile is kept (see DurableFs.removeUnless).
   */
  expire(repositories: readonly string[], options: ExpireOptions): Promise<ExpireResult>;
  /**
   * Sessions open under the root: counted by the last `expire` (every replica's), plus those this
   * process opened and minus those it closed since.
   */
  openSessions(): number;
}

export interface ExpireOptions {
  maxAgeMs: number;
  dryRun?: boolean;
  now?: () => number;
  /** Each session removed (or, dry run, that would be). */
  onExpired?: (session: ExpiredUpload) => void;
}

export interface ExpiredUpload {
  repository: string;
  id: string;
  bytes: number;
}

export interface ExpireResult {
  expired: ExpiredUpload[];
  /** Sessions left open. */
  open: number;
}

interface Session {
  verifier: DigestVerifier;
  createdAt: number;
}

/**
 * Upload sessions are files under `<repo>/.uploads/<uuid>`, each created durably (its directory
 * fsync'd) before its POST is answered. The running sha256 of each session is
 * kept in memory so completing it does not re-read the bytes; after a restart (or for sha512) the
 * file is hashed once at completion instead. Operations on one session are serialised.
 */
export class FsUploadStore implements UploadStore {
  private readonly sessions = new Map<string, Session>();
  private readonly mutex = new KeyedMutex();
  private open = 0;

  constructor(
    private readonly root: string,
    private readonly fs: DurableFs,
  ) {}

  async create(repo: string): Promise<string> {
    const id = randomUUID();
    await this.fs.createFile(uploadPath(this.root, repo, id));
    this.sessions.set(key(repo, id), { verifier: new DigestVerifier("sha256"), createdAt: Date.now() });
    this.open++;
    return id;
  }

  size(repo: string, id: string): Promise<number> {
    return this.currentSize(repo, id);
  }

  append(repo: string, id: string, source: AsyncIterable<Uint8Array> | Readable, range?: ChunkRange): Promise<number> {
    return this.mutex.run(key(repo, id), async () => {
      const size = await this.currentSize(repo, id);
      if (range && range.start !== size) {
        throw new OciError("BLOB_UPLOAD_INVALID", "chunk out of order", {
          status: 416,
          detail: { expectedStart: size, start: range.start },
        });
      }
      const session = this.sessions.get(key(repo, id));
      let written = 0;
      await streamToFile(
        source,
        uploadPath(this.root, repo, id),
        (chunk) => {
          written += chunk.length;
          session?.verifier.update(chunk);
        },
        { append: true },
      );
      if (range && written !== range.end - range.start + 1) {
        // The bytes are on disk but no longer match the client's view: the session is unusable.
        await this.drop(repo, id);
        throw new OciError("SIZE_INVALID", "chunk length does not match Content-Range", {
          detail: { contentRange: `${range.start}-${range.end}`, received: written },
        });
      }
      return size + written;
    });
  }

  complete(repo: string, id: string, digest: Digest): Promise<{ size: number }> {
    return this.mutex.run(key(repo, id), async () => {
      const size = await this.currentSize(repo, id);
      const file = uploadPath(this.root, repo, id);
      let verifier = this.sessions.get(key(repo, id))?.verifier;
      if (!verifier || verifier.algorithm !== digest.algorithm || verifier.size !== size) {
        verifier = new DigestVerifier(digest.algorithm);
        for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) verifier.update(chunk as Buffer);
      }
      try {
        verifier.verify(digest);
      } catch (err) {
        await this.drop(repo, id);
        throw err;
      }
      // The file's mtime is its last PATCH, maybe long ago: the blob must look young to garbage
      // collection until the manifest that needs it arrives.
      // Gone since the size was read: expired (or completed) by another replica.
      if (!(await touch(file))) throw unknownUpload(id);
      await this.fs.move(file, blobPath(this.root, repo, digest));
      this.sessions.delete(key(repo, id));
      this.closed();
      return { size };
    });
  }

  cancel(repo: string, id: string): Promise<void> {
    return this.mutex.run(key(repo, id), async () => {
      await this.currentSize(repo, id);
      await this.drop(repo, id);
    });
  }

  private async currentSize(repo: string, id: string): Promise<number> {
    if (!UPLOAD_ID_PATTERN.test(id)) throw unknownUpload(id);
    try {
      return (await stat(uploadPath(this.root, repo, id))).size;
    } catch (err) {
      if (isNotFound(err)) throw unknownUpload(id);
      throw err;
    }
  }

  private async drop(repo: string, id: string): Promise<void> {
    this.sessions.delete(key(repo, id));
    if (await this.fs.remove(uploadPath(this.root, repo, id))) this.closed();
  }

  async expire(repositories: readonly string[], options: ExpireOptions): Promise<ExpireResult> {
    const started = (options.now ?? Date.now)();
    const cutoff = started - options.maxAgeMs;
    const expired: ExpiredUpload[] = [];
    const seen = new Set<string>();
    let open = 0;
    for (const repo of repositories) {
      for (const entry of await listDirectory(uploadsPath(this.root, repo))) {
        if (!entry.isFile() || !UPLOAD_ID_PATTERN.test(entry.name)) continue;
        const path = uploadPath(this.root, repo, entry.name);
        let info: { mtimeMs: number; size: number };
        try {
          info = await stat(path);
        } catch (err) {
          if (isNotFound(err)) continue;
          throw err;
        }
        const session = { repository: repo, id: entry.name, bytes: info.size };
        if (info.mtimeMs > cutoff) {
          open++;
          seen.add(key(repo, entry.name));
        } else if (options.dryRun) {
          expired.push(session);
          options.onExpired?.(session);
        } else {
          // Under the session's turn: no append of this process runs into the removal.
          const { removed, size } = await this.mutex.run(key(repo, entry.name), () => this.fs.removeUnless(path, (now) => now.mtimeMs > cutoff));
          if (removed) {
            this.sessions.delete(key(repo, entry.name));
            expired.push({ ...session, bytes: size });
            options.onExpired?.({ ...session, bytes: size });
          } else {
            open++;
            seen.add(key(repo, entry.name));
          }
        }
      }
    }
    if (!options.dryRun) {
      // Hashes of sessions gone elsewhere (completed or expired by another replica) are let go.
      for (const [k, s] of this.sessions) if (s.createdAt < started && !seen.has(k)) this.sessions.delete(k);
      this.open = open;
    }
    return { expired, open };
  }

  openSessions(): number {
    return this.open;
  }

  private closed(): void {
    if (this.open > 0) this.open--;
  }
}

function key(repo: string, id: string): string {
  return `${repo}\0${id}`;
}

function unknownUpload(id: string): OciError {
  return new OciError("BLOB_UPLOAD_UNKNOWN", undefined, { detail: { session: id.slice(0, 100) } });
}
