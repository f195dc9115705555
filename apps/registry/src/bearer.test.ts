/**
 * Bearer token auth (zot's http.auth.bearer, Docker registry token spec) with a token service
 * written for the tests; skopeo and podman log in through it.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { publicKeyFromPem } from "@berth/access";
import { freePort } from "@berth/testing";
import { BearerProvider } from "./auth/bearer.js";
import { AuthenticationRequired } from "./auth/challenge.js";
import { ProcessGroup, writeJsonFile } from "@berth/testing/process-harness";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";
import { type Answer, call, pushBlob, pushImage } from "./test-support/client.js";
import { makeImage, writeLayout } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { podmanIn, runCommand } from "./test-support/tls-clients.js";
import { type TokenService, startTokenService } from "./test-support/token-service.js";

const SERVICE = "berth-test";

async function tokenFor(tokens: TokenService, user: string, password: string, ...scopes: string[]): Promise<string> {
  const query = new URLSearchParams({ service: SERVICE });
  for (const scope of scopes) query.append("scope", scope);
  const res = await fetch(`${tokens.realm}?${query}`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function assertUnauthorized(res: Answer, challenge: RegExp): void {
  assert.equal(res.status, 401, res.text);
  assert.equal(res.code(), "UNAUTHORIZED");
  assert.match(res.headers.get("www-authenticate") ?? "", challenge);
}

describe("bearer token auth", () => {
  let pki: TestPki;
  let tokens: TokenService;
  let reg: RunningRegistry;
  let work: string;
  before(async () => {
    pki = makeTestPki();
    work = pki.dir;
    const signer = pki.issue("token-signer", "token-service", "client");
    tokens = await startTokenService({
      keyFile: signer.keyFile,
      service: SERVICE,
      users: { alice: { password: "pw-alice", actions: ["pull", "push", "delete"] }, bob: { password: "pw-bob", actions: ["pull"] } },
    });
    reg = await startRegistry({ bearer: { realm: tokens.realm, service: SERVICE, key: publicKeyFromPem(readFileSync(signer.certFile)) } });
  });
  after(async () => {
    await reg.stop();
    await tokens.close();
    pki.remove();
  });

  it("challenges with the token service's realm, the service and the scope the request needs", async () => {
    const escaped = tokens.realm.replace(/[.?]/g, "\\$&");
    assertUnauthorized(await call(reg.url, "GET", "/v2/"), new RegExp(`^Bearer realm="${escaped}",service="${SERVICE}"$`));
    assertUnauthorized(await call(reg.url, "GET", "/v2/team/app/manifests/v1"), /,scope="repository:team\/app:pull"$/);
    assertUnauthorized(await call(reg.url, "POST", "/v2/team/app/blobs/uploads/"), /,scope="repository:team\/app:pull,push"$/);
    assertUnauthorized(await call(reg.url, "GET", "/v2/_catalog"), /,scope="registry:catalog:\*"$/);
  });

  it("a token granting push lets its subject push; the event's actor is the subject", async () => {
    const token = await tokenFor(tokens, "alice", "pw-alice", "repository:team/app:pull,push");
    await pushImage(reg.url, "team/app", "v1", makeImage(), bearer(token));
    const updated = reg.publisher.ofKind("image.updated").at(-1);
    assert.equal(updated?.data.actor?.name, "alice");
    assert.equal((await call(reg.url, "GET", "/v2/team/app/tags/list", { headers: bearer(token) })).status, 200);
  });

  it("a token without the needed action gets a new challenge (insufficient_scope), for any other repository too", async () => {
    const pullOnly = await tokenFor(tokens, "bob", "pw-bob", "repository:team/app:pull,push");
    assert.equal((await call(reg.url, "GET", "/v2/team/app/manifests/v1", { headers: bearer(pullOnly) })).status, 200);
    const image = makeImage();
    assertUnauthorized(await pushBlob(reg.url, "team/app", image.config.digest, image.config.data, bearer(pullOnly)), /error="insufficient_scope"$/);
    assertUnauthorized(await call(reg.url, "GET", "/v2/other/manifests/v1", { headers: bearer(pullOnly) }), /scope="repository:other:pull",error="insufficient_scope"/);
    assertUnauthorized(await call(reg.url, "GET", "/v2/_catalog", { headers: bearer(pullOnly) }), /insufficient_scope/);
    const catalog = await tokenFor(tokens, "bob", "pw-bob", "registry:catalog:*");
    assert.deepEqual((await call(reg.url, "GET", "/v2/_catalog", { headers: bearer(catalog) })).json(), { repositories: ["team/app"] });
  });

  it("refuses forged, expired and foreign-audience tokens with invalid_token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const access = [{ type: "repository", name: "team/app", actions: ["pull"] }];
    const claims = { sub: "mallory", aud: SERVICE, exp: now + 300, access };
    const forged = tokens.sign(claims, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    const expired = tokens.sign({ ...claims, exp: now - 3600 });
    const foreign = tokens.sign({ ...claims, aud: "another-registry" });
    for (const token of [forged, expired, foreign, "not-a-jwt"]) {
      const res = await call(reg.url, "GET", "/v2/team/app/manifests/v1", { headers: bearer(token) });
      assertUnauthorized(res, /error="invalid_token"$/);
    }
    // Basic credentials are not accepted in place of a token.
    assertUnauthorized(await call(reg.url, "GET", "/v2/", { headers: { Authorization: "Basic YWxpY2U6cHctYWxpY2U=" } }), /^Bearer /);
  });

  it("skopeo pushes through the token service; a user the service allows only pulls cannot", async () => {
    await writeLayout(join(work, "src"), "v1", [makeImage()]);
    const push = (creds: string) =>
      runCommand("skopeo", [
        "--insecure-policy", "copy", "--dest-tls-verify=false", "--retry-times", "0", "--dest-creds", creds,
        `oci:${join(work, "src")}:v1`, `docker://${reg.host}/team/skopeo:v1`,
      ]);
    const allowed = await push("alice:pw-alice");
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(tokens.issued.some((t) => t.user === "alice" && t.scopes.includes("repository:team/skopeo:pull,push")));
    const denied = await push("bob:pw-bob");
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /unauthorized|authentication required|denied/i);
    const pulled = await runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", "bob:pw-bob", `docker://${reg.host}/team/skopeo:v1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
  });

  it("podman logs in through the token service, and is refused a wrong password", async () => {
    const podman = podmanIn(work);
    const authfile = join(work, "auth.json");
    const ok = await podman("login", "--authfile", authfile, "--tls-verify=false", "-u", "alice", "-p", "pw-alice", reg.host);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await podman("login", "--authfile", authfile, "--tls-verify=false", "-u", "alice", "-p", "nope", reg.host);
    assert.notEqual(wrong.code, 0);
  });
});

describe("bearer provider", () => {
  it("remembers a verified token until its expiry, and never serves an expired one", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    let now = 1_800_000_000;
    const provider = new BearerProvider({ realm: "https://auth/token", service: SERVICE, key: publicKey, now: () => now });
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${encode({ alg: "ES256" })}.${encode({ sub: "alice", aud: SERVICE, exp: now + 30 })}`;
    const token = `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    const first = provider.verify(token, undefined);
    assert.equal(provider.verify(token, undefined), first, "the second request is served from the cache");
    now += 120;
    assert.throws(() => provider.verify(token, undefined), (err: unknown) => err instanceof AuthenticationRequired && /expired/.test(err.message));
  });
});

describe("registry process with http.auth.bearer from the config file", () => {
  const group = new ProcessGroup();
  let pki: TestPki;
  after(async () => {
    await group.stopAll();
    pki.remove();
  });

  it("loads the signing certificate and challenges with Bearer", async () => {
    pki = makeTestPki();
    const signer = pki.issue("token-signer", "token-service", "client");
    const port = await freePort();
    const config = await writeJsonFile(pki.dir, "config.json", {
      storage: { rootDirectory: join(pki.dir, "root") },
      http: { address: "127.0.0.1", port, auth: { bearer: { realm: "https://auth.example.com/token", service: SERVICE, cert: signer.certFile } } },
      log: { level: "warn" },
    });
    await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    const res = await call(`http://127.0.0.1:${port}`, "GET", "/v2/");
    assertUnauthorized(res, /^Bearer realm="https:\/\/auth\.example\.com\/token",service="berth-test"$/);
  });
});
