import { access, constants } from "node:fs/promises";
import { type BlobStore, FsBlobStore } from "./blob-store.js";
import { statIsCoherent } from "./coherent-stat.js";
import { DurableFs, type DurableFsOptions } from "./durable-fs.js";
import { type CollectOptions, type CollectResult, GarbageCollector } from "./garbage-collector.js";
import { DEFAULT_INDEX_VIEW_DELAY_MS, IndexViews } from "./index-view.js";
import { DEFAULT_LOCK_OPTIONS, LeaseLocks, type LeaseLockOptions } from "./lease-lock.js";
import { FsManifestStore, type ManifestStore, type ReferrerStore, type TagStore } from "./manifest-store.js";
import { RepositoryIndexes } from "./repository-indexes.js";
import { FsRepositoryStore, type RepositoryStore } from "./repository-store.js";
import { type ExpireOptions, type ExpireResult, FsUploadStore, type UploadStore } from "./upload-store.js";

/** The registry's storage: small stores over one root directory in zot's layout (see paths.ts). */
export interface Storage {
  readonly root: string;
  repositories: RepositoryStore;
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore & TagStore & ReferrerStore;
  /** Rewrites every index.json that lags its tags.log now (shutdown, tests). */
  flushViews(): Promise<void>;
  /** Start-up: schedules the rewrite of each repository's index.json that an earlier run left behind. */
  catchUpViews(): Promise<void>;
  /** Garbage collection over every repository (see garbage-collector.ts and the README). */
  collectGarbage(options: CollectOptions): Promise<CollectResult>;
  /** Removes upload sessions older than `maxAgeMs` in every repository. */
  expireUploads(options: ExpireOptions): Promise<ExpireResult>;
}

export interface StorageOptions {
  /** The write layer's options: an observer for tests, directory fsync off for the bench. */
  fs?: DurableFsOptions;
  /** The repository write lock shared by replicas (lease and how long a writer waits). */
  lock?: Partial<LeaseLockOptions>;
  /** Bound on how long index.json lags an acknowledged change (ms). */
  indexViewDelayMs?: number;
  /** A background index.json rewrite failed (retried after the delay). */
  onBackgroundError?: (repo: string, err: unknown) => void;
  /** Repository states kept in memory, in manifests + tags (LRU over repositories). */
  maxCachedEntries?: number;
  /**
   * Serve the root as a network filesystem even when it is local: reads revalidate with open +
   * fstat (on NFS a stat can be stale) and no file operation runs on the event loop. For tests of
   * that path; by default the filesystem type decides (coherent-stat.ts).
   */
  networkFilesystem?: boolean;
  /**
   * Create the root when it is missing (the registry, default). Tools that work on an existing
   * registry's files (the CLI's gc, events replay, sink bootstrap) say false: run on the wrong host,
   * they get StorageRootError (ENOENT) instead of an empty new root that reads as "nothing there".
   */
  createRoot?: boolean;
}

export class StorageRootError extends Error {
  override readonly name = "StorageRootError";
  constructor(
    readonly root: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage root ${root} is not usable: ${reason}`, options);
  }
}

/** Opens (creating if needed) a storage root; throws StorageRootError when it is not writable. */
export async function openStorage(root: string, options: StorageOptions = {}): Promise<Storage> {
  try {
    if (options.createRoot !== false) await new DurableFs(options.fs).ensureDirectory(root);
    await access(root, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new StorageRootError(root, (err as NodeJS.ErrnoException).code ?? String(err), { cause: err });
  }
  const local = !options.networkFilesystem && (await statIsCoherent(root));
  const fs = new DurableFs({ ...options.fs, localFilesystem: local });
  const locks = new LeaseLocks({ ...DEFAULT_LOCK_OPTIONS, ...options.lock }, (dir) => fs.ensureDirectory(dir));
  const repositories = new FsRepositoryStore(root, fs, locks);
  const blobs = new FsBlobStore(root, repositories, fs);
  const uploads = new FsUploadStore(root, fs);
  let views: IndexViews | undefined;
  const onError = options.onBackgroundError;
  const indexes = new RepositoryIndexes(root, locks, {
    files: fs,
    localFilesystem: local,
    ...(options.maxCachedEntries ? { maxCachedEntries: options.maxCachedEntries } : {}),
    onChange: (repo, seq, loaded) => {
      if (!loaded) views?.schedule(repo);
      // A state loaded afresh may be one whose writer died before drawing index.json.
      else views?.checkBehind(repo, seq).catch((err: unknown) => onError?.(repo, err));
    },
  });
  views = new IndexViews(root, locks, indexes, {
    delayMs: options.indexViewDelayMs ?? DEFAULT_INDEX_VIEW_DELAY_MS,
    files: fs,
    ...(onError ? { onError } : {}),
  });
  const manifests = new FsManifestStore(root, indexes, blobs);
  const drawn = views;
  const collector = new GarbageCollector(root, indexes, blobs, fs, () => repositories.list());
  return {
    root,
    repositories,
    blobs,
    uploads,
    manifests,
    flushViews: () => drawn.flush(),
    async catchUpViews() {
      // Loading a state compares its log position with index.json's (see onChange above).
      for (const repo of await repositories.list()) await indexes.read(repo);
    },
    collectGarbage: (collect) => collector.collect(collect),
    expireUploads: async (expire) => uploads.expire(await repositories.list(), expire),
  };
}
