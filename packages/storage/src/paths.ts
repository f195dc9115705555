/**
 * The on-disk layout: zot's, so an existing zot root is served as it is and each repository is an
 * OCI image layout (image-spec `image-layout.md`) that `skopeo copy oci:<root>/<repo>:<tag>` reads.
 * Berth's own state lives in dot-directories, which zot, skopeo and the catalog walk ignore.
 *
 *   <root>/
 *     .berth/catalog                  rewritten when a repository is created: replicas re-walk the
 *                                     root for `_catalog` when its identity (inode, mtime) changes
 *     <repo>/                         a repository; names may nest: <root>/library/alpine/
 *       oci-layout                    {"imageLayoutVersion":"1.0.0"}
 *       index.json                    image index: one descriptor per manifest; a tag is the
 *                                     annotation "org.opencontainers.image.ref.name" on its entry.
 *                                     Once tags.log exists this is a VIEW of it, rewritten in the
 *                                     background (bounded delay); before that (a zot root) it is
 *                                     the truth
 *       blobs/
 *         sha256/<hex>                layers, configs and manifests, content-addressed
 *         sha512/<hex>
 *       .uploads/
 *         <uuid>                      bytes of an upload session in progress (any replica appends);
 *                                     removed once untouched for storage.uploadMaxAge
 *         <uuid>.<rand>.tmp           a monolithic upload being streamed (renamed into blobs/)
 *       .berth/
 *         lock                        the repository's write lock, shared by every replica:
 *                                     created exclusively (O_EXCL), renewed (mtime) while held,
 *                                     broken when unchanged for a whole lease (holder died)
 *         tags.log                    the truth for tags and manifests once it exists: a header
 *                                     line, then one JSON line per change (tag, untag, manifest,
 *                                     drop), appended under the lock and fsynced before the answer;
 *                                     compacted (rewritten as a snapshot) when mostly superseded
 *         view                        the log position index.json reflects (start-up catch-up)
 *         *.<rand>.tmp                a file being replaced (renamed over its target)
 *       index.json.<rand>.tmp         index.json being replaced (renamed over index.json)
 *
 * A directory is a repository when it holds `oci-layout`; a repository's `blobs` and `.uploads`
 * are never repositories themselves. Every path is built here, by pure functions, and nowhere else.
 *
 * Repository names nest (`a/b` lives inside `a/`), so a name component equal to one of the
 * layout's own entries would put a repository inside another one's blobs (`x/blobs/sha256/<hex>`
 * blocks that blob forever), or a directory where a file must go (`s/index.json`). Such names are
 * refused with NAME_INVALID: see RESERVED_COMPONENTS. (Berth's dot-files and `.berth/` under the
 * root cannot be named at all: the name grammar forbids a leading dot.)
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type Digest, OciError } from "@berth/oci";

export const OCI_LAYOUT_FILE = "oci-layout";
export const INDEX_FILE = "index.json";
export const BLOBS_DIR = "blobs";
export const UPLOADS_DIR = ".uploads";
/** Berth's marker in a repository created but not yet announced (repository.created); zot and skopeo ignore it. */
export const UNANNOUNCED_FILE = ".berth-unannounced";
/** Berth's own state, in the root and in each repository. */
export const STATE_DIR = ".berth";

export function stateDir(root: string, repo: string): string {
  return join(repositoryPath(root, repo), STATE_DIR);
}

export function lockPath(root: string, repo: string): string {
  return join(stateDir(root, repo), "lock");
}

export function tagLogPath(root: string, repo: string): string {
  return join(stateDir(root, repo), "tags.log");
}

export function viewMarkerPath(root: string, repo: string): string {
  return join(stateDir(root, repo), "view");
}

export function catalogMarkerPath(root: string): string {
  return join(root, STATE_DIR, "catalog");
}

/**
 * Name components that are the layout's own entries; also refused: any component ending in
 * `.tmp`. Only after the first component: the root itself is never a repository, so `blobs/a` is
 * a fine name, while `x/blobs` would live inside repository `x`'s blobs.
 */
export const RESERVED_COMPONENTS: readonly string[] = [OCI_LAYOUT_FILE, INDEX_FILE, BLOBS_DIR, UPLOADS_DIR, UNANNOUNCED_FILE];

const TEMP_SUFFIX = ".tmp";

/** The first component of `repo` that collides with the layout, if any. */
export function reservedComponentOf(repo: string): string | undefined {
  return repo
    .split("/")
    .slice(1)
    .find((c) => RESERVED_COMPONENTS.includes(c) || c.endsWith(TEMP_SUFFIX));
}

/** NAME_INVALID for a name whose directory would collide with a repository's own files. */
export function requireStorableName(repo: string): string {
  const reserved = reservedComponentOf(repo);
  if (reserved !== undefined) {
    throw new OciError("NAME_INVALID", `repository name component "${reserved}" is reserved by the storage layout`, {
      detail: { name: repo.slice(0, 300), reserved: RESERVED_COMPONENTS },
    });
  }
  return repo;
}

/** `repo` is always a validated repository name: the grammar forbids `..`, leading `/` and dots. */
export function repositoryPath(root: string, repo: string): string {
  return join(root, ...repo.split("/"));
}

export function ociLayoutPath(root: string, repo: string): string {
  return join(repositoryPath(root, repo), OCI_LAYOUT_FILE);
}

export function unannouncedPath(root: string, repo: string): string {
  return join(repositoryPath(root, repo), UNANNOUNCED_FILE);
}

export function indexPath(root: string, repo: string): string {
  return join(repositoryPath(root, repo), INDEX_FILE);
}

export function blobsPath(root: string, repo: string): string {
  return join(repositoryPath(root, repo), BLOBS_DIR);
}

export function blobAlgorithmPath(root: string, repo: string, algorithm: string): string {
  return join(blobsPath(root, repo), algorithm);
}

export function blobPath(root: string, repo: string, digest: Digest): string {
  return join(blobsPath(root, repo), digest.algorithm, digest.hex);
}

export function uploadsPath(root: string, repo: string): string {
  return join(repositoryPath(root, repo), UPLOADS_DIR);
}

/** `uuid` is checked by the caller against UPLOAD_ID_PATTERN before it reaches a path. */
export function uploadPath(root: string, repo: string, uuid: string): string {
  return join(uploadsPath(root, repo), uuid);
}

/** A scratch file beside uploads, for a blob streamed in one request. */
export function uploadTempPath(root: string, repo: string, label: string): string {
  return join(uploadsPath(root, repo), `${label}.${randomSuffix()}${TEMP_SUFFIX}`);
}

/** A sibling temp file for an atomic replace of `target` (same directory → same filesystem). */
export function tempPathFor(target: string): string {
  return `${target}.${randomSuffix()}${TEMP_SUFFIX}`;
}

/** A temp file this layout writes (`<name>.<12 hex>.tmp`): never an acknowledged state. */
export function isTempFileName(name: string): boolean {
  return TEMP_FILE_PATTERN.test(name);
}

const TEMP_FILE_PATTERN = /\.[0-9a-f]{12}\.tmp$/;

export const UPLOAD_ID_PATTERN = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

function randomSuffix(): string {
  return randomBytes(6).toString("hex");
}
