/**
 * The conformance-style flow (push, pull, tags, referrers, delete) against the registry process
 * with every security setting an operator migrating from zot turns on: TLS, htpasswd users and
 * accessControl — and each of those operations refused to a user or a request without the right.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { freePort } from "@berth/testing";
import { OCI_MANIFEST, type TestImage, contentBlob, descriptorOf, makeTestImage, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient, type RegistryResponse } from "@berth/testing/registry-http-client";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";
import { hashSync } from "bcryptjs";

const run = promisify(execFile);
const REPO = "team/app";
const ALL = ["read", "create", "update", "delete"];

function errorCode(res: RegistryResponse): string | undefined {
  return (JSON.parse(res.body) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
}

function expectError(res: RegistryResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body);
  assert.equal(errorCode(res), code);
}

describe("secure registry end to end: TLS + htpasswd + access control", () => {
  const group = new ProcessGroup();
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let pki: TestPki;
  let host = "";
  let alice: RegistryHttpClient;
  let bob: RegistryHttpClient;
  let anonymous: RegistryHttpClient;
  const image: TestImage = makeTestImage({ layerBytes: 4096 });

  before(async () => {
    tmp = await makeTempDir("secure-registry");
    pki = makeTestPki();
    const htpasswd = join(tmp.path, "htpasswd");
    await writeFile(htpasswd, ["alice", "bob"].map((u) => `${u}:${hashSync(`pw-${u}`, 4)}`).join("\n"));
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    const config = await writeJsonFile(tmp.path, "config.json", {
      distSpecVersion: "1.1.1",
      storage: { rootDirectory: join(tmp.path, "root") },
      http: {
        address: "127.0.0.1",
        port: String(port),
        tls: { cert: pki.serverCertFile, key: pki.serverKeyFile },
        auth: { htpasswd: { path: htpasswd } },
        accessControl: {
          repositories: {
            "**": { defaultPolicy: ["read"], anonymousPolicy: [] },
            "team/**": { policies: [{ users: ["alice"], actions: ALL }], defaultPolicy: ["read"] },
          },
        },
      },
      log: { level: "warn" },
    });
    await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    const url = `https://${host}`;
    alice = new RegistryHttpClient(url, { username: "alice", password: "pw-alice" }, { ca: pki.ca });
    bob = new RegistryHttpClient(url, { username: "bob", password: "pw-bob" }, { ca: pki.ca });
    anonymous = new RegistryHttpClient(url, undefined, { ca: pki.ca });
  });
  after(async () => {
    await group.stopAll();
    pki.remove();
    await tmp.remove();
  });

  test("push: a monolithic and a chunked blob upload, then the manifest under a tag", async () => {
    assert.equal(await alice.pushBlob(REPO, image.config), 201);
    const layer = image.layers[0]!;
    const started = await alice.request("POST", `/v2/${REPO}/blobs/uploads/`);
    assert.equal(started.status, 202);
    const location = String(started.headers.location);
    const half = Math.floor(layer.data.length / 2);
    const chunk = (from: number, to: number) =>
      alice.request("PATCH", location, {
        headers: { "Content-Type": "application/octet-stream", "Content-Range": `${from}-${to - 1}` },
        body: layer.data.subarray(from, to),
      });
    assert.equal((await chunk(0, half)).status, 202);
    assert.equal((await chunk(half, layer.data.length)).status, 202);
    const done = await alice.request("PUT", `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(layer.digest)}`);
    assert.equal(done.status, 201, done.body);
    assert.equal((await alice.putManifest(REPO, "v1", image.manifest)).status, 201);
  });

  test("pull: manifest by tag and by digest, the blob, tags/list and _catalog", async () => {
    const byTag = await bob.request("GET", `/v2/${REPO}/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(byTag.status, 200);
    assert.equal(byTag.headers["docker-content-digest"], image.manifest.digest);
    assert.equal((await bob.request("HEAD", `/v2/${REPO}/manifests/${image.manifest.digest}`)).status, 200);
    const blob = await bob.request("GET", `/v2/${REPO}/blobs/${image.config.digest}`);
    assert.equal(blob.body, image.config.data.toString("utf8"));
    assert.deepEqual(JSON.parse((await bob.request("GET", `/v2/${REPO}/tags/list`)).body), { name: REPO, tags: ["v1"] });
    assert.deepEqual(JSON.parse((await bob.request("GET", "/v2/_catalog")).body), { repositories: [REPO] });
  });

  test("referrers: an artifact whose subject is the image is listed, filtered by artifactType", async () => {
    const empty = contentBlob(Buffer.from("{}"), "application/vnd.oci.empty.v1+json");
    assert.equal(await alice.pushBlob(REPO, empty), 201);
    const artifact = contentBlob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: "application/vnd.example.sbom",
          config: descriptorOf(empty),
          layers: [descriptorOf(empty)],
          subject: descriptorOf(image.manifest),
        }),
      ),
      OCI_MANIFEST,
    );
    const put = await alice.putManifest(REPO, artifact.digest, artifact);
    assert.equal(put.status, 201, put.body);
    assert.equal(put.headers["oci-subject"], image.manifest.digest);
    const referrers = await bob.request("GET", `/v2/${REPO}/referrers/${image.manifest.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(referrers.status, 200);
    assert.deepEqual(
      (JSON.parse(referrers.body) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest),
      [artifact.digest],
    );
  });

  test("a user without the right is refused every write with 403 DENIED, a request without credentials with 401", async () => {
    expectError(await bob.request("POST", `/v2/${REPO}/blobs/uploads/`), 403, "DENIED");
    expectError(await bob.putManifest(REPO, "v2", image.manifest), 403, "DENIED");
    expectError(await bob.request("DELETE", `/v2/${REPO}/manifests/${image.manifest.digest}`), 403, "DENIED");
    expectError(await bob.request("DELETE", `/v2/${REPO}/blobs/${image.config.digest}`), 403, "DENIED");
    for (const [method, path] of [["GET", "/v2/"], ["GET", `/v2/${REPO}/manifests/v1`], ["POST", `/v2/${REPO}/blobs/uploads/`]] as const) {
      const res = await anonymous.request(method, path);
      expectError(res, 401, "UNAUTHORIZED");
      assert.equal(res.headers["www-authenticate"], 'Basic realm="Berth Registry"');
    }
  });

  test("skopeo copies in and out over TLS with the CA and credentials", async () => {
    const layout = join(tmp.path, "layout");
    await writeOciLayout(layout, "v3", makeTestImage());
    const certs = join(tmp.path, "certs");
    await mkdir(certs, { recursive: true });
    await copyFile(pki.caCertFile, join(certs, "ca.crt"));
    const skopeo = (...args: string[]) => run("skopeo", ["--insecure-policy", ...args], { timeout: 60_000 });
    await skopeo("copy", "--dest-cert-dir", certs, "--dest-creds", "alice:pw-alice", `oci:${layout}:v3`, `docker://${host}/${REPO}:v3`);
    await skopeo("copy", "--src-cert-dir", certs, "--src-creds", "bob:pw-bob", `docker://${host}/${REPO}:v3`, `oci:${join(tmp.path, "back")}:v3`);
    const tags = JSON.parse((await bob.request("GET", `/v2/${REPO}/tags/list`)).body) as { tags: string[] };
    assert.deepEqual(tags.tags, ["v1", "v3"]);
  });

  test("delete: the tag's manifest by digest, then a blob", async () => {
    assert.equal((await alice.request("DELETE", `/v2/${REPO}/manifests/${image.manifest.digest}`)).status, 202);
    expectError(await bob.request("GET", `/v2/${REPO}/manifests/v1`), 404, "MANIFEST_UNKNOWN");
    assert.equal((await alice.request("DELETE", `/v2/${REPO}/blobs/${image.config.digest}`)).status, 202);
    expectError(await bob.request("GET", `/v2/${REPO}/blobs/${image.config.digest}`), 404, "BLOB_UNKNOWN");
  });
});
