/**
 * Small generated OCI images, multi-arch indexes and on-disk OCI image layouts (no network), so
 * tests can push real content with real clients (skopeo reads `oci:DIR:TAG`).
 * Layout: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface ContentBlob {
  digest: string;
  mediaType: string;
  data: Buffer;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface TestImage {
  config: ContentBlob;
  layers: ContentBlob[];
  /** The manifest (its `data` is the exact bytes pushed). */
  manifest: ContentBlob;
}

export interface TestIndex {
  images: TestImage[];
  index: ContentBlob;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function contentBlob(data: Buffer, mediaType: string): ContentBlob {
  return { digest: sha256Digest(data), mediaType, data };
}

export function descriptorOf(blob: ContentBlob): Descriptor {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.data.length };
}

export interface ImageOptions {
  arch?: string;
  layerBytes?: number;
  /** Manifest annotations (lint checks these). */
  annotations?: Record<string, string>;
}

/**
 * An image with one layer of random bytes and a config. The layer really is gzip (as its media
 * type says): skopeo recompresses a "+gzip" layer that is not, which would change the digests.
 */
export function makeTestImage(options: ImageOptions = {}): TestImage {
  const arch = options.arch ?? "amd64";
  const raw = randomBytes(options.layerBytes ?? 512);
  const layer = contentBlob(gzipSync(raw), OCI_LAYER);
  const config = contentBlob(
    Buffer.from(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [sha256Digest(raw)] } })),
    OCI_CONFIG,
  );
  return { config, layers: [layer], manifest: manifestFor(config, [layer], options.annotations) };
}

/** A manifest over existing blobs: vary `annotations` to get many distinct manifests cheaply. */
export function manifestFor(config: ContentBlob, layers: ContentBlob[], annotations?: Record<string, string>): ContentBlob {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(config),
    layers: layers.map(descriptorOf),
  };
  if (annotations) doc["annotations"] = annotations;
  return contentBlob(Buffer.from(JSON.stringify(doc)), OCI_MANIFEST);
}

/** A multi-arch image index over one generated image per architecture (it and each image with `annotations`). */
export function makeTestIndex(archs: string[], annotations?: Record<string, string>): TestIndex {
  const images = archs.map((arch) => makeTestImage({ arch, ...(annotations ? { annotations } : {}) }));
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map((img, i) => ({ ...descriptorOf(img.manifest), platform: { architecture: archs[i], os: "linux" } })),
    ...(annotations ? { annotations } : {}),
  };
  return { images, index: contentBlob(Buffer.from(JSON.stringify(doc)), OCI_INDEX) };
}

async function writeBlob(dir: string, blob: ContentBlob): Promise<void> {
  const [alg, hex] = blob.digest.split(":") as [string, string];
  await mkdir(join(dir, "blobs", alg), { recursive: true });
  await writeFile(join(dir, "blobs", alg, hex), blob.data);
}

/**
 * Writes an OCI image layout in `dir` whose index.json lists `content` under `tag` only; returns
 * the tagged top-level blob (the manifest, or the index).
 */
export async function writeOciLayout(dir: string, tag: string, content: TestImage | TestIndex): Promise<ContentBlob> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const images = "images" in content ? content.images : [content];
  for (const image of images) {
    for (const blob of [image.config, ...image.layers, image.manifest]) await writeBlob(dir, blob);
  }
  const top = "images" in content ? content.index : content.manifest;
  await writeBlob(dir, top);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...descriptorOf(top), annotations: { "org.opencontainers.image.ref.name": tag } }],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
  return top;
}
