/**
 * TLS on the registry listener (zot's http.tls): skopeo, podman, curl and Node against a test CA;
 * client-certificate auth (cacert); certificate reload on SIGHUP in the real process.
 */
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect } from "node:tls";
import { hashSync } from "bcryptjs";
import { freePort } from "@berth/testing";
import { ProcessGroup, writeJsonFile } from "@berth/testing/process-harness";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";
import { basic, call, pushImage } from "./test-support/client.js";
import { makeImage, writeLayout } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { certDir, podmanIn, runCommand } from "./test-support/tls-clients.js";

function plainHttpGet(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/v2/" }, (res) => resolve(res.statusCode ?? 0));
    req.on("error", reject);
    req.end();
  });
}

function peerCommonName(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on("error", reject);
  });
}

describe("registry over TLS", () => {
  let pki: TestPki;
  let reg: RunningRegistry;
  let work: string;
  before(async () => {
    pki = makeTestPki();
    work = await mkdtemp(join(tmpdir(), "berth-tls-"));
    reg = await startRegistry({
      tls: { cert: pki.serverCert, key: pki.serverKey },
      htpasswd: `bob:${hashSync("pw-bob", 4)}\n`,
    });
  });
  after(async () => {
    await reg.stop();
    pki.remove();
    await rm(work, { recursive: true, force: true });
  });

  it("answers HTTPS, and plain HTTP never gets an answer", async () => {
    const res = await call(reg.url, "GET", "/v2/", { headers: basic("bob", "pw-bob"), tls: { ca: pki.ca } });
    assert.equal(res.status, 200);
    const port = Number(new URL(reg.url).port);
    await assert.rejects(plainHttpGet(port));
  });

  it("skopeo pushes and pulls with the CA verified and credentials", async () => {
    const image = makeImage({ layerBytes: 8 * 1024 });
    await writeLayout(join(work, "src"), "v1", [image]);
    const certs = await certDir(join(work, "certs"), pki);
    const push = await runCommand("skopeo", [
      "--insecure-policy", "copy", "--dest-cert-dir", certs, "--dest-creds", "bob:pw-bob",
      `oci:${join(work, "src")}:v1`, `docker://${reg.host}/team/app:v1`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    const inspect = await runCommand("skopeo", ["inspect", "--raw", "--cert-dir", certs, "--creds", "bob:pw-bob", `docker://${reg.host}/team/app:v1`]);
    assert.equal(inspect.stdout, image.manifest.toString("utf8"));
    // Without the CA the certificate is not trusted.
    const untrusted = await runCommand("skopeo", ["inspect", "--raw", "--creds", "bob:pw-bob", `docker://${reg.host}/team/app:v1`]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate/i);
  });

  it("podman logs in over TLS with the CA, and is refused a wrong password", async () => {
    const podman = podmanIn(work);
    const certs = await certDir(join(work, "certs-podman"), pki);
    const authfile = join(work, "auth.json");
    const ok = await podman("login", "--authfile", authfile, "--cert-dir", certs, "-u", "bob", "-p", "pw-bob", reg.host);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await podman("login", "--authfile", authfile, "--cert-dir", certs, "-u", "bob", "-p", "nope", reg.host);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /unauthorized|401|invalid username\/password/i);
  });
});

describe("registry with client-certificate auth (mTLS)", () => {
  let pki: TestPki;
  let reg: RunningRegistry;
  before(async () => {
    pki = makeTestPki();
    reg = await startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
  });
  after(async () => {
    await reg.stop();
    pki.remove();
  });

  it("serves a client that presents a certificate of the CA", async () => {
    const tls = { ca: pki.ca, cert: await readFile(pki.clientCertFile), key: await readFile(pki.clientKeyFile) };
    assert.equal((await call(reg.url, "GET", "/v2/", { tls })).status, 200);
    const curl = await runCommand("curl", [
      "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.caCertFile,
      "--cert", pki.clientCertFile, "--key", pki.clientKeyFile, `${reg.url}/v2/`,
    ]);
    assert.equal(curl.stdout, "200", curl.stderr);
  });

  it("the certificate's CN is the user: access control applies to it and events name it", async () => {
    const acl = await startRegistry({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca },
      accessControl: {
        repositories: { "team/**": { policies: [{ users: ["berth-client"], groups: [], actions: ["read", "create"] }], defaultPolicy: [], anonymousPolicy: [] } },
        adminPolicy: { users: [], groups: [], actions: [] },
        groups: {},
      },
    });
    try {
      const clientTls = async (cert: { certFile: string; keyFile: string }) => ({ ca: pki.ca, cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) });
      const image = makeImage();
      await pushImage(acl.url, "team/app", "v1", image, {}, await clientTls({ certFile: pki.clientCertFile, keyFile: pki.clientKeyFile }));
      assert.equal(acl.publisher.ofKind("image.updated")[0]?.data.actor?.name, "berth-client");
      const intruder = await clientTls(pki.issue("intruder", "intruder", "client"));
      const denied = await call(acl.url, "GET", "/v2/team/app/manifests/v1", { tls: intruder });
      assert.equal(denied.status, 403);
      assert.equal(denied.code(), "DENIED");
    } finally {
      await acl.stop();
    }
  });

  it("refuses the handshake without a client certificate, or with one from another CA", async () => {
    await assert.rejects(call(reg.url, "GET", "/v2/", { tls: { ca: pki.ca } }));
    const curl = await runCommand("curl", ["-sS", "-o", "/dev/null", "--cacert", pki.caCertFile, `${reg.url}/v2/`]);
    assert.notEqual(curl.code, 0);
    const other = makeTestPki();
    try {
      const tls = { ca: pki.ca, cert: await readFile(other.clientCertFile), key: await readFile(other.clientKeyFile) };
      await assert.rejects(call(reg.url, "GET", "/v2/", { tls }));
    } finally {
      other.remove();
    }
  });
});

describe("registry process: TLS certificate reload on SIGHUP", () => {
  const group = new ProcessGroup();
  let pki: TestPki;
  let dir: string;
  after(async () => {
    await group.stopAll();
    pki.remove();
  });

  it("serves a renewed certificate to new connections without a restart", async () => {
    pki = makeTestPki();
    dir = pki.dir;
    const certFile = join(dir, "live.crt");
    const keyFile = join(dir, "live.key");
    await copyFile(pki.serverCertFile, certFile);
    await copyFile(pki.serverKeyFile, keyFile);
    const port = await freePort();
    const config = await writeJsonFile(dir, "config.json", {
      storage: { rootDirectory: join(dir, "root") },
      http: { address: "127.0.0.1", port, tls: { cert: certFile, key: keyFile } },
      log: { level: "info" },
    });
    const registry = await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    assert.equal(await peerCommonName(port, pki.ca), "127.0.0.1");

    const renewed = pki.issue("renewed", "renewed-registry", "server");
    await copyFile(renewed.certFile, certFile);
    await copyFile(renewed.keyFile, keyFile);
    const from = registry.lines.length;
    process.kill(registry.pid!, "SIGHUP");
    await registry.waitForLine((l) => l.msg === "TLS certificate reloaded", { fromLine: from });
    assert.equal(await peerCommonName(port, pki.ca), "renewed-registry");

    // A broken file on the next reload keeps the certificate in use.
    await copyFile(pki.caCertFile, keyFile);
    const later = registry.lines.length;
    process.kill(registry.pid!, "SIGHUP");
    await registry.waitForLine((l) => /not reloaded/.test(l.msg ?? ""), { fromLine: later });
    assert.equal(await peerCommonName(port, pki.ca), "renewed-registry");
    assert.equal(registry.running, true);
  });
});
