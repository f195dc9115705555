/**
 * A minimal OCI Distribution client over fetch, for tests that push many small manifests or send
 * hand-made (bad) requests to a running registry process. Every request is bounded by a timeout.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md
 */
import type { ContentBlob } from "./oci-layout-fixture.js";

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  /** Send without the client's credentials. */
  anonymous?: boolean;
}

export class RegistryHttpClient {
  private readonly authorization: string | undefined;

  constructor(
    readonly baseUrl: string,
    creds?: { username: string; password: string },
  ) {
    this.authorization = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
  }

  /** One request; a timeout or a network failure rejects (the caller decides what that means). */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<RegistryResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.authorization && !options.anonymous) headers["Authorization"] = this.authorization;
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: options.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Monolithic upload (`POST …/blobs/uploads/?digest=`); resolves with the final status. */
  async pushBlob(repo: string, blob: ContentBlob, timeoutMs?: number): Promise<number> {
    const res = await this.request("POST", `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(blob.digest)}`, {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(blob.data.length) },
      body: blob.data,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return res.status;
  }

  /** `PUT /v2/<repo>/manifests/<reference>`. */
  putManifest(repo: string, reference: string, manifest: ContentBlob, timeoutMs?: number): Promise<RegistryResponse> {
    return this.request("PUT", `/v2/${repo}/manifests/${reference}`, {
      headers: { "Content-Type": manifest.mediaType },
      body: manifest.data,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }
}
