/**
 * Bad input against the running registry process, property-based (fast-check): manifest bodies,
 * repository names, digests, chunk Content-Range headers and query parameters. Every answer is a
 * 2xx or a 4xx carrying OCI error codes (distribution-spec v1.1.1 "Error Codes") — never a 5xx,
 * a crash or a hang (each request is bounded) — and the repository still serves its tag after.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "@berth/testing";
import { type TestImage, makeTestImage } from "@berth/testing/oci-layout-fixture";
import { type ManagedProcess, ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient, type RegistryResponse } from "@berth/testing/registry-http-client";
import fc from "fast-check";

const RUNS = 200;
const REQUEST_TIMEOUT_MS = 5_000;
const REPO = "fuzz/base";
const TAG = "stable";

/** distribution-spec v1.1.1 error codes. */
const OCI_CODES = new Set([
  "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED",
  "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
]);

/** The contract for one answer: 2xx/3xx, or 4xx with `{"errors":[{code,…}]}` of spec codes. */
function assertWellFormed(method: string, path: string, res: RegistryResponse): void {
  const what = `${method} ${path.slice(0, 200)} -> ${res.status} ${res.body.slice(0, 200)}`;
  assert.ok(res.status < 500, `server error: ${what}`);
  if (res.status < 400 || method === "HEAD" || res.status === 416 && res.body === "") return;
  let parsed: { errors?: Array<{ code?: unknown; message?: unknown }> };
  try {
    parsed = JSON.parse(res.body) as typeof parsed;
  } catch {
    assert.fail(`4xx without a JSON error body: ${what}`);
  }
  assert.ok(Array.isArray(parsed.errors) && parsed.errors.length > 0, `no errors[]: ${what}`);
  for (const e of parsed.errors) assert.ok(OCI_CODES.has(String(e.code)), `unknown error code: ${what}`);
}

describe("registry bad input (fast-check against the running process)", () => {
  const group = new ProcessGroup();
  let registry: ManagedProcess;
  let client: RegistryHttpClient;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let image: TestImage;

  /**
   * One bounded request whose answer must be well formed. Characters a request-target may not
   * hold (RFC 9112 §3.2: non-ASCII, space, controls) are percent-encoded; raw ones are a
   * malformed request line, which Node's parser refuses before any handler runs (tested apart).
   */
  async function send(method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer | string) {
    const path = rawPath.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
    const res = await client.request(method, path, {
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    assertWellFormed(method, path, res);
    return res;
  }

  /** After each property: the process is alive and the tag still serves the same bytes. */
  async function assertIntact(): Promise<void> {
    assert.ok(registry.running, `registry exited: ${JSON.stringify(registry.exits)}\n${registry.tail(20)}`);
    const res = await send("GET", `/v2/${REPO}/manifests/${TAG}`, { Accept: image.manifest.mediaType });
    assert.equal(res.status, 200);
    assert.equal(res.body, image.manifest.data.toString("utf8"));
    const tags = await send("GET", `/v2/${REPO}/tags/list`);
    assert.ok((JSON.parse(tags.body) as { tags: string[] }).tags.includes(TAG));
  }

  before(async () => {
    tmp = await makeTempDir("bad-input");
    const port = await freePort();
    // No sinks: the registry runs without Redis; this suite is about the HTTP surface.
    const config = await writeJsonFile(tmp.path, "config.json", {
      storage: { rootDirectory: `${tmp.path}/storage` },
      http: { address: "127.0.0.1", port },
      log: { level: "warn" },
    });
    registry = await group.start({
      name: "registry",
      script: "apps/registry/src/main.ts",
      args: ["--config", config],
      ready: { port },
    });
    client = new RegistryHttpClient(`http://127.0.0.1:${port}`);
    image = makeTestImage();
    for (const blob of [image.config, ...image.layers]) assert.equal(await client.pushBlob(REPO, blob), 201);
    assert.equal((await client.putManifest(REPO, TAG, image.manifest)).status, 201);
  });

  after(async () => {
    await group.stopAll();
    await tmp?.remove();
  });

  const printable = fc.string({ unit: fc.constantFrom(..."abcXYZ019._-/:@%+~ ?#&=[]{}\"'\\\u00e9".split("")), maxLength: 80 });
  const tags = fc.constantFrom("fz-1", "fz-2", "latest", "sha256:0", "..", "A".repeat(129), "t%2Fx");

  test("manifest bodies: arbitrary JSON, mutated manifests and bytes never cause a 5xx", async () => {
    const valid = JSON.parse(image.manifest.data.toString("utf8")) as Record<string, unknown>;
    const mutated = fc
      .tuple(fc.constantFrom(...Object.keys(valid), "subject", "manifests", "artifactType", "mediaType"), fc.jsonValue({ maxDepth: 3 }))
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      mutated,
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.constant(""),
    );
    const contentType = fc.constantFrom(
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/json",
      "text/plain",
      "",
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, tags, async (b, ct, tag) => {
        await send("PUT", `/v2/${REPO}/manifests/${tag}`, ct === "" ? {} : { "Content-Type": ct }, b);
      }),
      { numRuns: RUNS },
    );
    await assertIntact();
  });

  test("repository names: names outside the spec grammar get NAME_INVALID; nothing gets a 5xx", async () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[a-z0-9]+([._-][a-z0-9]+)*$/),
      fc.constantFrom("..", ".", "", "A", "a..b", "-a", "a-", "_", "%2e%2e", "%2F", "a%00b", "x".repeat(300)),
      printable,
    );
    const name = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/"));
    const endpoint = fc.constantFrom("tags/list", `manifests/${TAG}`, "blobs/uploads/", `blobs/${image.config.digest}`, "referrers/" + image.manifest.digest);
    const method = fc.constantFrom("GET", "HEAD", "PUT", "DELETE", "POST");
    await fc.assert(
      fc.asyncProperty(name, endpoint, method, async (n, ep, m) => {
        const path = `/v2/${n}/${ep}`.replaceAll("#", "%23").replaceAll("?", "%3F");
        const body = m === "PUT" ? image.manifest.data : m === "POST" ? "" : undefined;
        const headers: Record<string, string> = m === "PUT" ? { "Content-Type": image.manifest.mediaType } : {};
        const res = await send(m, path, headers, body);
        // distribution-spec "Pulling manifests": <name> must match this grammar.
        const grammar = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
        if (ep === "tags/list" && m === "GET" && !/[%?#]/.test(n) && n.length < 200 && !grammar.test(n)) {
          assert.equal(res.status, 400, `${path} -> ${res.status} ${res.body}`);
          assert.match(res.body, /"NAME_INVALID"/);
        }
      }),
      { numRuns: RUNS },
    );
    await assertIntact();
  });

  test("digests: malformed, unknown and mismatched digests get 4xx, never a 5xx", async () => {
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFg".split("")), minLength: n, maxLength: n });
    const digest = fc.oneof(
      hex(64).map((h) => `sha256:${h}`),
      hex(128).map((h) => `sha512:${h}`),
      fc.nat({ max: 130 }).chain((n) => hex(n)).map((h) => `sha256:${h}`),
      fc.constantFrom("sha256:", ":", "sha256", "md5:d41d8cd98f00b204e9800998ecf8427e", "SHA256:" + "a".repeat(64), "sha256:" + "a".repeat(64) + "\u00e9"),
      printable.map((s) => encodeURIComponent(s)),
    );
    const op = fc.constantFrom("get-blob", "head-blob", "delete-blob", "get-manifest", "delete-manifest", "monolithic", "referrers");
    await fc.assert(
      fc.asyncProperty(digest, op, fc.uint8Array({ maxLength: 64 }), async (d, o, bytes) => {
        const e = encodeURI(d);
        if (o === "get-blob") await send("GET", `/v2/${REPO}/blobs/${e}`);
        else if (o === "head-blob") await send("HEAD", `/v2/${REPO}/blobs/${e}`);
        else if (o === "delete-blob") await send("DELETE", `/v2/${REPO}/blobs/${e}`);
        else if (o === "get-manifest") await send("GET", `/v2/${REPO}/manifests/${e}`);
        else if (o === "delete-manifest") {
          // Never the digest of the tagged manifest (that delete is legitimate, not bad input).
          if (d === image.manifest.digest) return;
          await send("DELETE", `/v2/${REPO}/manifests/${e}`);
        } else if (o === "referrers") await send("GET", `/v2/${REPO}/referrers/${e}`);
        else {
          const res = await send("POST", `/v2/${REPO}/blobs/uploads/?digest=${encodeURIComponent(d)}`, { "Content-Type": "application/octet-stream" }, Buffer.from(bytes));
          assert.notEqual(res.status, 201, `an upload under a wrong digest was accepted: ${d}`);
        }
      }),
      { numRuns: RUNS },
    );
    await assertIntact();
  });

  test("chunked uploads with arbitrary Content-Range headers: 202 or 416/400, never a 5xx", async () => {
    const range = fc.oneof(
      fc.tuple(fc.integer({ min: -5, max: 300 }), fc.integer({ min: -5, max: 300 })).map(([a, b]) => `${a}-${b}`),
      fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 300 })).map(([a, b]) => `bytes ${a}-${b}/*`),
      fc.constantFrom("", "-", "0-", "-10", "bytes=0-10", "0-9999999999999999999", "1e3-2e3", "0x0-0x10", " 0 - 1 ", "0-0/0"),
      printable,
    );
    const chunks = fc.array(fc.tuple(range, fc.uint8Array({ maxLength: 40 })), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(chunks, fc.boolean(), async (list, finish) => {
        const started = await send("POST", `/v2/${REPO}/blobs/uploads/`, {}, "");
        assert.equal(started.status, 202);
        const location = String(started.headers.location);
        const path = location.startsWith("http") ? new URL(location).pathname + new URL(location).search : location;
        const data: Buffer[] = [];
        for (const [r, bytes] of list) {
          const res = await send("PATCH", path, { "Content-Range": r, "Content-Type": "application/octet-stream" }, Buffer.from(bytes));
          if (res.status === 202) data.push(Buffer.from(bytes));
        }
        await send("GET", path);
        if (finish) {
          const { sha256Digest } = await import("@berth/testing/oci-layout-fixture");
          const sep = path.includes("?") ? "&" : "?";
          await send("PUT", `${path}${sep}digest=${encodeURIComponent(sha256Digest(Buffer.concat(data)))}`, {}, "");
        } else {
          await send("DELETE", path);
        }
      }),
      { numRuns: RUNS },
    );
    await assertIntact();
  });

  test("query parameters (n, last, digest, mount, from, artifactType): 2xx or 4xx, never a 5xx", async () => {
    const value = fc.oneof(
      fc.constantFrom("", "0", "-1", "1", "10", "1e9", "NaN", "99999999999999999999", "0x10", "null", "[]", "a/b", "..", "%", "%zz"),
      printable.map((s) => encodeURIComponent(s)),
      fc.integer().map(String),
    );
    const target = fc.constantFrom(
      (v: string, w: string) => ["GET", `/v2/${REPO}/tags/list?n=${v}&last=${w}`],
      (v: string, w: string) => ["GET", `/v2/_catalog?n=${v}&last=${w}`],
      (v: string) => ["GET", `/v2/${REPO}/referrers/${image.manifest.digest}?artifactType=${v}`],
      (v: string, w: string) => ["POST", `/v2/other/blobs/uploads/?mount=${v}&from=${w}`],
      (v: string) => ["POST", `/v2/other/blobs/uploads/?mount=${encodeURIComponent(image.config.digest)}&from=${v}`],
      (v: string) => ["POST", `/v2/${REPO}/blobs/uploads/?digest=${v}`],
      (v: string, w: string) => ["GET", `/v2/${REPO}/tags/list?n=${v}&n=${w}`],
    );
    await fc.assert(
      fc.asyncProperty(target, value, value, async (t, v, w) => {
        const [method, path] = t(v, w) as [string, string];
        await send(method, path, {}, method === "POST" ? "" : undefined);
      }),
      { numRuns: RUNS },
    );
    await assertIntact();
  });

  test("a raw non-ASCII request target is a 400 (malformed request line) and the registry carries on", async () => {
    const res = await client.request("GET", `/v2/\u00e9/x/tags/list`, { timeoutMs: REQUEST_TIMEOUT_MS });
    assert.equal(res.status, 400);
    await assertIntact();
  });

  test("the registry never exited and logged no unhandled error", () => {
    assert.equal(registry.exits.length, 0, registry.tail(20));
    const crashes = registry.lines.filter((l) => l.raw && /Unhandled|TypeError|RangeError/.test(String(l.msg)));
    assert.deepEqual(crashes, []);
  });
});
