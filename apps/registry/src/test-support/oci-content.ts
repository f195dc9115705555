import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Small generated images and OCI layouts (no network), for tests that drive real clients. */

export interface Blob {
  digest: string;
  data: Buffer;
  mediaType: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function blobOf(data: Buffer, mediaType: string): Blob {
  return { digest: sha256(data), data, mediaType };
}

export interface Image {
  config: Blob;
  layers: Blob[];
  manifest: Buffer;
  digest: string;
  mediaType: string;
}

export function descriptor(blob: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.data.length };
}

/** An OCI image: a random "layer" (not a real tar: registries and skopeo copy do not care) + config. */
export function makeImage(options: { arch?: string; layerBytes?: number; annotations?: Record<string, string>; labels?: Record<string, string>; subject?: { mediaType: string; digest: string; size: number }; artifactType?: string } = {}): Image {
  const arch = options.arch ?? "amd64";
  // Real gzip, so clients do not recompress the layer (which would change digests).
  const layer = blobOf(gzipSync(randomBytes(options.layerBytes ?? 1024)), "application/vnd.oci.image.layer.v1.tar+gzip");
  const config = blobOf(
    Buffer.from(JSON.stringify({ architecture: arch, os: "linux", config: { Labels: options.labels ?? {} }, rootfs: { type: "layers", diff_ids: [layer.digest] } })),
    "application/vnd.oci.image.config.v1+json",
  );
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: descriptor(config),
    layers: [descriptor(layer)],
  };
  if (options.artifactType) doc["artifactType"] = options.artifactType;
  if (options.subject) doc["subject"] = options.subject;
  if (options.annotations) doc["annotations"] = options.annotations;
  const manifest = Buffer.from(JSON.stringify(doc));
  return { config, layers: [layer], manifest, digest: sha256(manifest), mediaType: "application/vnd.oci.image.manifest.v1+json" };
}

export function makeIndex(images: Image[], archs: string[]): { body: Buffer; digest: string; mediaType: string } {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: images.map((img, i) => ({
        mediaType: img.mediaType,
        digest: img.digest,
        size: img.manifest.length,
        platform: { architecture: archs[i] ?? "amd64", os: "linux" },
      })),
    }),
  );
  return { body, digest: sha256(body), mediaType: "application/vnd.oci.image.index.v1+json" };
}

async function writeBlob(dir: string, digest: string, data: Buffer): Promise<void> {
  const [alg, hex] = digest.split(":") as [string, string];
  await mkdir(join(dir, "blobs", alg), { recursive: true });
  await writeFile(join(dir, "blobs", alg, hex), data);
}

/** Writes an OCI image layout with one tagged entry (an image or a multi-arch index). */
export async function writeLayout(dir: string, tag: string, images: Image[], index?: { body: Buffer; digest: string; mediaType: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const image of images) {
    await writeBlob(dir, image.config.digest, image.config.data);
    for (const layer of image.layers) await writeBlob(dir, layer.digest, layer.data);
    await writeBlob(dir, image.digest, image.manifest);
  }
  const top = index ?? { body: images[0]!.manifest, digest: images[0]!.digest, mediaType: images[0]!.mediaType };
  if (index) await writeBlob(dir, index.digest, index.body);
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: top.mediaType, digest: top.digest, size: top.body.length, annotations: { "org.opencontainers.image.ref.name": tag } },
      ],
    }),
  );
}
