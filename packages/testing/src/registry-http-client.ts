/**
 * A minimal OCI Distribution client over fetch, for tests that push many small manifests or send
 * hand-made (bad) requests to a running registry process. Every request is bounded by a timeout.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ContentBlob } from "./oci-layout-fixture.js";

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
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

  /** `tls` for an https `baseUrl`: the CA to trust, and a client certificate for mTLS. */
  constructor(
    readonly baseUrl: string,
    creds?: { username: string; password: string },
    private readonly tls?: { ca: Buffer; cert?: Buffer; key?: Buffer },
  ) {
    this.authorization = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
  }

  /**
   * One request with `path` sent exactly as given (no URL normalisation of `..` or `%2F`, which
   * bad-input tests need); a timeout or a network failure rejects.
   */
  request(method: string, path: string, options: RequestOptions = {}): Promise<RegistryResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.authorization && !options.anonymous) headers["Authorization"] = this.authorization;
    if (options.body !== undefined) headers["Content-Length"] ??= String(Buffer.byteLength(options.body));
    const base = new URL(this.baseUrl);
    return new Promise((resolve, reject) => {
      const send = base.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(
        { host: base.hostname, port: base.port, method, path, headers, agent: false, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), ...this.tls },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
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
