/**
 * The OCI distribution-spec calls the bench makes, the way docker/containerd/skopeo make them:
 * POST + PATCH + PUT uploads, GET blobs, PUT/GET manifests.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md
 */
import { createHash, randomFillSync } from "node:crypto";
import { expectStatus, type HttpLoadClient } from "./load-generator.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export interface Blob {
  data: Buffer;
  digest: string;
}

/** `count` distinct random blobs of `size` bytes (random so no layer of storage can dedupe them). */
export function randomBlobs(count: number, size: number): Blob[] {
  return Array.from({ length: count }, () => {
    const data = randomFillSync(Buffer.allocUnsafe(size));
    return { data, digest: sha256(data) };
  });
}

async function startUpload(client: HttpLoadClient, repo: string): Promise<string> {
  const res = expectStatus("start upload", await client.request("POST", `/v2/${repo}/blobs/uploads/`), 202);
  const location = res.headers.location;
  if (!location) throw new Error("start upload: no Location header");
  return location;
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
}

/** POST, one PATCH with the whole blob, then PUT ?digest= (docker's and skopeo's upload). */
export async function uploadBlob(client: HttpLoadClient, repo: string, blob: Blob): Promise<void> {
  let location = await startUpload(client, repo);
  const patched = await client.request("PATCH", location, {
    headers: { "content-type": "application/octet-stream" },
    body: blob.data,
  });
  location = expectStatus("patch upload", patched, 202).headers.location ?? location;
  expectStatus("finish upload", await client.request("PUT", withDigest(location, blob.digest)), 201);
}

/**
 * A chunked upload from a stream: one PATCH with `Content-Range` per `chunkSize` bytes, each PATCH
 * body itself streamed, so the bench never holds more than one piece of the blob.
 */
export async function uploadBlobChunked(
  client: HttpLoadClient,
  repo: string,
  totalSize: number,
  chunkSize: number,
  chunkBody: (offset: number, length: number) => AsyncIterable<Buffer>,
  digest: () => string,
): Promise<string> {
  let location = await startUpload(client, repo);
  for (let offset = 0; offset < totalSize; offset += chunkSize) {
    const length = Math.min(chunkSize, totalSize - offset);
    const res = await client.request("PATCH", location, {
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `${offset}-${offset + length - 1}`,
        "content-length": String(length),
      },
      body: chunkBody(offset, length),
    });
    location = expectStatus(`patch chunk at ${offset}`, res, 202).headers.location ?? location;
  }
  const final = digest();
  expectStatus("finish chunked upload", await client.request("PUT", withDigest(location, final)), 201);
  return final;
}

/** GET a blob and count its bytes without keeping them. */
export async function downloadBlob(client: HttpLoadClient, repo: string, digest: string): Promise<number> {
  const res = await client.request("GET", `/v2/${repo}/blobs/${digest}`, { discardBody: true });
  expectStatus("get blob", res, 200);
  return res.bytes;
}

/** A small image manifest over `config` and `layer`; `salt` makes each one a distinct digest. */
export function imageManifest(config: Blob, layer: Blob, salt: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.data.length },
      layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: layer.data.length }],
      annotations: { "org.opencontainers.image.description": salt },
    }),
  );
}

export async function putManifest(client: HttpLoadClient, repo: string, tag: string, body: Buffer): Promise<void> {
  const res = await client.request("PUT", `/v2/${repo}/manifests/${tag}`, {
    headers: { "content-type": OCI_MANIFEST },
    body,
  });
  expectStatus("put manifest", res, 201);
}

export async function getManifest(client: HttpLoadClient, repo: string, tag: string): Promise<void> {
  const res = await client.request("GET", `/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } });
  expectStatus("get manifest", res, 200);
}

/** A config blob and a layer blob pushed once, for manifests to reference. */
export async function pushManifestTargets(client: HttpLoadClient, repo: string): Promise<{ config: Blob; layer: Blob }> {
  const config = { data: Buffer.from('{"architecture":"amd64","os":"linux"}'), digest: "" };
  config.digest = sha256(config.data);
  const [layer] = randomBlobs(1, 4096);
  await uploadBlob(client, repo, config);
  await uploadBlob(client, repo, layer!);
  return { config, layer: layer! };
}

/** HEAD a blob: true when the registry has it (clients ask before uploading). */
export async function blobExists(client: HttpLoadClient, repo: string, digest: string): Promise<boolean> {
  const res = expectStatus("head blob", await client.request("HEAD", `/v2/${repo}/blobs/${digest}`, { discardBody: true }), 200, 404);
  return res.status === 200;
}

/** A distinct small image: a config naming `salt` and one random layer of `layerBytes`. */
export function distinctImage(salt: string, layerBytes: number): { config: Blob; layer: Blob } {
  const config = { data: Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: { salt } } })), digest: "" };
  config.digest = sha256(config.data);
  const [layer] = randomBlobs(1, layerBytes);
  return { config, layer: layer! };
}

/**
 * One image push as skopeo and docker make it: for each blob a HEAD, then (missing) POST +
 * PATCH + PUT; then the manifest PUT by tag.
 */
export async function pushImage(client: HttpLoadClient, repo: string, tag: string, image: { config: Blob; layer: Blob }): Promise<void> {
  for (const blob of [image.config, image.layer]) {
    if (!(await blobExists(client, repo, blob.digest))) await uploadBlob(client, repo, blob);
  }
  await putManifest(client, repo, tag, imageManifest(image.config, image.layer, tag));
}
