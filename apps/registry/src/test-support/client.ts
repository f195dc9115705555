import { Agent, request } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Image } from "./oci-content.js";

/** A thin fetch wrapper over the registry's HTTP API (tests only). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json(): unknown;
  /** The first OCI error code of an error body. */
  code(): string | undefined;
}

/** What a test's https client trusts (`ca`) and presents (`cert` + `key`, for mTLS). */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** node:http rather than fetch: fetch normalises `..` out of paths, which tests must send. */
export function call(
  base: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: Buffer | string; tls?: ClientTls } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { hostname, port, protocol } = new URL(base);
    const options = { hostname, port, path, method, headers: init.headers ?? {} };
    const send = protocol === "https:" ? httpsRequest : request;
    // A TLS client certificate belongs to one connection: no shared keep-alive agent for https.
    const req = send(protocol === "https:" ? { ...options, ...init.tls, agent: false } : { ...options, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers,
          text,
          json: () => JSON.parse(text),
          code() {
            try {
              return (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
            } catch {
              return undefined;
            }
          },
        });
      });
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Monolithic blob push (POST ?digest=). */
export async function pushBlob(base: string, name: string, digest: string, data: Buffer, headers: Record<string, string> = {}, tls?: ClientTls): Promise<Answer> {
  return call(base, "POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    headers: { "Content-Type": "application/octet-stream", ...headers },
    body: data,
    ...(tls ? { tls } : {}),
  });
}

export async function pushManifest(
  base: string,
  name: string,
  reference: string,
  body: Buffer,
  mediaType: string,
  headers: Record<string, string> = {},
  tls?: ClientTls,
): Promise<Answer> {
  return call(base, "PUT", `/v2/${name}/manifests/${reference}`, { headers: { "Content-Type": mediaType, ...headers }, body, ...(tls ? { tls } : {}) });
}

/** Pushes an image's blobs then its manifest under `reference`; throws unless every step succeeds. */
export async function pushImage(base: string, name: string, reference: string, image: Image, headers: Record<string, string> = {}, tls?: ClientTls): Promise<Answer> {
  for (const blob of [image.config, ...image.layers]) {
    const answer = await pushBlob(base, name, blob.digest, blob.data, headers, tls);
    if (answer.status !== 201) throw new Error(`blob push ${answer.status} ${answer.text}`);
  }
  const answer = await pushManifest(base, name, reference, image.manifest, image.mediaType, headers, tls);
  if (answer.status !== 201) throw new Error(`manifest push ${answer.status} ${answer.text}`);
  return answer;
}

export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}
