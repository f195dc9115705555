/**
 * zot's accessControl with htpasswd users, against the running registry (real HTTP, skopeo).
 * Before it was implemented every authenticated user could push, overwrite and delete anywhere.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AccessControlSettings } from "@berth/config";
import { hashSync } from "bcryptjs";
import { type Answer, basic, call, pushBlob, pushImage, pushManifest } from "./test-support/client.js";
import { makeImage, writeLayout } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { runCommand } from "./test-support/tls-clients.js";

const ALL = ["read", "create", "update", "delete"] as const;

const ACCESS: AccessControlSettings = {
  repositories: {
    "**": { policies: [], defaultPolicy: ["read"], anonymousPolicy: [] },
    "team-a/**": { policies: [{ users: ["alice"], groups: [], actions: [...ALL] }], defaultPolicy: [], anonymousPolicy: [] },
    // carol may push new tags but not move existing ones.
    "team-c/**": {
      policies: [{ users: [], groups: ["pushers"], actions: ["read", "create"] }],
      defaultPolicy: ["read"],
      anonymousPolicy: [],
    },
    "public/**": { policies: [], defaultPolicy: ["read"], anonymousPolicy: ["read"] },
  },
  adminPolicy: { users: ["root"], groups: [], actions: [...ALL] },
  groups: { pushers: ["carol"] },
  metricsUsers: ["root"],
};

const USERS = ["alice", "bob", "carol", "root"];
const as = (user: string) => basic(user, `pw-${user}`);

function assertOciError(res: Answer, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.code(), code);
  assert.equal(res.headers.get("content-type"), "application/json");
}

describe("access control (zot's accessControl) with htpasswd", () => {
  let reg: RunningRegistry;
  let work: string;
  const image = makeImage();
  before(async () => {
    const htpasswd = USERS.map((u) => `${u}:${hashSync(`pw-${u}`, 4)}`).join("\n");
    reg = await startRegistry({ htpasswd, accessControl: ACCESS });
    work = await mkdtemp(join(tmpdir(), "berth-acl-"));
    await pushImage(reg.url, "team-a/app", "v1", image, as("alice"));
    await pushImage(reg.url, "public/base", "v1", image, as("root"));
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("an allowed user pushes, and the event's actor is that user", () => {
    const updated = reg.publisher.ofKind("image.updated").find((e) => e.data.name === "team-a/app");
    assert.equal(updated?.data.actor?.name, "alice");
  });

  it("another user gets 403 DENIED for pushes and reads outside their policy", async () => {
    assertOciError(await pushBlob(reg.url, "team-a/app", image.config.digest, image.config.data, as("bob")), 403, "DENIED");
    assertOciError(await call(reg.url, "GET", "/v2/team-a/app/manifests/v1", { headers: as("bob") }), 403, "DENIED");
    assertOciError(await call(reg.url, "GET", "/v2/team-a/app/tags/list", { headers: as("bob") }), 403, "DENIED");
    assertOciError(await call(reg.url, "DELETE", `/v2/team-a/app/manifests/${image.digest}`, { headers: as("bob") }), 403, "DENIED");
    // defaultPolicy lets bob read elsewhere.
    assert.equal((await call(reg.url, "GET", "/v2/public/base/manifests/v1", { headers: as("bob") })).status, 200);
  });

  it("create without update: a new tag is accepted, overwriting an existing one is refused", async () => {
    const pushed = await pushImage(reg.url, "team-c/app", "v1", image, as("carol"));
    assert.equal(pushed.status, 201);
    const other = makeImage();
    for (const blob of [other.config, ...other.layers]) await pushBlob(reg.url, "team-c/app", blob.digest, blob.data, as("carol"));
    assertOciError(await pushManifest(reg.url, "team-c/app", "v1", other.manifest, other.mediaType, as("carol")), 403, "DENIED");
    assert.equal((await pushManifest(reg.url, "team-c/app", "v2", other.manifest, other.mediaType, as("carol"))).status, 201);
    assert.equal((await pushManifest(reg.url, "team-c/app", other.digest, other.manifest, other.mediaType, as("carol"))).status, 201, "by digest = create");
    assertOciError(await call(reg.url, "DELETE", "/v2/team-c/app/manifests/v2", { headers: as("carol") }), 403, "DENIED");
    // The admin policy covers every repository.
    assert.equal((await call(reg.url, "DELETE", "/v2/team-c/app/manifests/v2", { headers: as("root") })).status, 202);
  });

  it("anonymous requests: reads where anonymousPolicy allows, 401 with a challenge elsewhere", async () => {
    assert.equal((await call(reg.url, "GET", "/v2/public/base/manifests/v1")).status, 200);
    // `/v2/` still challenges, or clients holding credentials would never send them.
    assertOciError(await call(reg.url, "GET", "/v2/"), 401, "UNAUTHORIZED");
    const push = await pushBlob(reg.url, "public/base", image.config.digest, image.config.data);
    assertOciError(push, 401, "UNAUTHORIZED");
    assert.equal(push.headers.get("www-authenticate"), 'Basic realm="Berth Registry"');
    assertOciError(await call(reg.url, "GET", "/v2/team-a/app/manifests/v1"), 401, "UNAUTHORIZED");
    // Wrong credentials are never treated as anonymous.
    assertOciError(await call(reg.url, "GET", "/v2/public/base/manifests/v1", { headers: basic("bob", "wrong") }), 401, "UNAUTHORIZED");
  });

  it("_catalog lists only the repositories the caller may read", async () => {
    const catalog = async (headers: Record<string, string>) =>
      ((await call(reg.url, "GET", "/v2/_catalog", { headers })).json() as { repositories: string[] }).repositories;
    assert.deepEqual(await catalog(as("alice")), ["public/base", "team-a/app", "team-c/app"]);
    assert.deepEqual(await catalog(as("bob")), ["public/base", "team-c/app"]);
    assert.deepEqual(await catalog({}), ["public/base"]);
  });

  it("a cross-repository mount needs read on the source: otherwise the client uploads instead", async () => {
    const mount = (user: string, to: string) =>
      call(reg.url, "POST", `/v2/${to}/blobs/uploads/?mount=${image.layers[0]!.digest}&from=team-a/app`, { headers: as(user) });
    assert.equal((await mount("carol", "team-c/other")).status, 202, "carol cannot read team-a: an upload session, no mount");
    assert.equal((await mount("alice", "team-a/copy")).status, 201);
    // Automatic discovery (no `from`) must not find a source the caller cannot read either.
    const auto = await call(reg.url, "POST", `/v2/team-c/auto/blobs/uploads/?mount=${image.layers[0]!.digest}`, { headers: as("carol") });
    assert.equal(auto.status, 202);
  });

  it("/metrics only for the users accessControl.metrics names; /healthz stays open", async () => {
    assertOciError(await call(reg.url, "GET", "/metrics"), 401, "UNAUTHORIZED");
    assertOciError(await call(reg.url, "GET", "/metrics", { headers: as("bob") }), 403, "DENIED");
    const metrics = await call(reg.url, "GET", "/metrics", { headers: as("root") });
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /berth_registry_requests_total/);
    assert.equal((await call(reg.url, "GET", "/healthz")).status, 200);
  });

  it("skopeo: the allowed user pushes, another is denied", async () => {
    await writeLayout(join(work, "src"), "v1", [makeImage()]);
    const push = (user: string) =>
      runCommand("skopeo", [
        "--insecure-policy", "copy", "--dest-tls-verify=false", "--retry-times", "0", "--dest-creds", `${user}:pw-${user}`,
        `oci:${join(work, "src")}:v1`, `docker://${reg.host}/team-a/skopeo:v1`,
      ]);
    const allowed = await push("alice");
    assert.equal(allowed.code, 0, allowed.stderr);
    const denied = await push("bob");
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied|403 \(Forbidden\)/i);
    // Anonymous pull where anonymousPolicy allows it, through the 401 on /v2/.
    const pulled = await runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", "--no-creds", `docker://${reg.host}/public/base:v1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, image.manifest.toString("utf8"));
  });
});
