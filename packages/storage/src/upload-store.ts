import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { type Digest, DigestVerifier, OciError } from "@berth/oci";
import { isNotFound, streamToFile } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { UPLOAD_ID_PATTERN, blobPath, uploadPath } from "./paths.js";
import { SessionPool } from "./session-pool.js";

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
}

interface Session {
  verifier: DigestVerifier;
}

/**
 * Upload sessions are files under `<repo>/.uploads/<uuid>`, created a few at a time with one
 * directory fsync (session-pool.ts). The running sha256 of each session is
 * kept in memory so completing it does not re-read the bytes; after a restart (or for sha512) the
 * file is hashed once at completion instead. Operations on one session are serialised.
 */
export class FsUploadStore implements UploadStore {
  private readonly sessions = new Map<string, Session>();
  private readonly mutex = new KeyedMutex();
  private readonly pool: SessionPool;

  constructor(
    private readonly root: string,
    private readonly fs: DurableFs,
  ) {
    this.pool = new SessionPool(root, fs);
  }

  async create(repo: string): Promise<string> {
    const id = await this.pool.create(repo);
    this.sessions.set(key(repo, id), { verifier: new DigestVerifier("sha256") });
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
      await this.fs.move(file, blobPath(this.root, repo, digest));
      this.sessions.delete(key(repo, id));
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
    await this.fs.remove(uploadPath(this.root, repo, id));
  }
}

function key(repo: string, id: string): string {
  return `${repo}\0${id}`;
}

function unknownUpload(id: string): OciError {
  return new OciError("BLOB_UPLOAD_UNKNOWN", undefined, { detail: { session: id.slice(0, 100) } });
}
