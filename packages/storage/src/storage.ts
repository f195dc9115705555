import { access, constants } from "node:fs/promises";
import { type BlobStore, FsBlobStore } from "./blob-store.js";
import { DurableFs, type DurableFsOptions } from "./durable-fs.js";
import { IndexCommitter } from "./index-committer.js";
import { FsManifestStore, type ManifestStore, type ReferrerStore, type TagStore } from "./manifest-store.js";
import { FsRepositoryStore, type RepositoryStore } from "./repository-store.js";
import { FsUploadStore, type UploadStore } from "./upload-store.js";

/** The registry's storage: small stores over one root directory in zot's layout (see paths.ts). */
export interface Storage {
  readonly root: string;
  repositories: RepositoryStore;
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore & TagStore & ReferrerStore;
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

export interface StorageOptions {
  /** The write layer's options: an observer for tests, directory fsync off for the bench. */
  fs?: DurableFsOptions;
}

/** Opens (creating if needed) a storage root; throws StorageRootError when it is not writable. */
export async function openStorage(root: string, options: StorageOptions = {}): Promise<Storage> {
  const fs = new DurableFs(options.fs);
  try {
    await fs.ensureDirectory(root);
    await access(root, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new StorageRootError(root, (err as NodeJS.ErrnoException).code ?? String(err), { cause: err });
  }
  const repositories = new FsRepositoryStore(root, fs);
  const blobs = new FsBlobStore(root, repositories, fs);
  const uploads = new FsUploadStore(root, fs);
  const indexes = new IndexCommitter(root, fs);
  const manifests = new FsManifestStore(root, indexes, blobs);
  return { root, repositories, blobs, uploads, manifests };
}
