/**
 * LDAP authentication (zot's http.auth.ldap) against a real OpenLDAP slapd on loopback, with
 * accessControl groups from the directory; skopeo and podman log in through it.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AccessControlSettings } from "@berth/config";
import { freePort } from "@berth/testing";
import { LDAP_USERS_DN, type LdapServer, startLdapServer } from "@berth/testing/ldap-server";
import { ProcessGroup, writeJsonFile } from "@berth/testing/process-harness";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";
import type { LdapProviderOptions } from "./auth/ldap.js";
import { escapeFilterValue } from "./auth/ldap.js";
import { type Answer, basic, call, pushBlob, pushImage } from "./test-support/client.js";
import { makeImage, writeLayout } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { podmanIn, runCommand } from "./test-support/tls-clients.js";

const PEOPLE = [
  { uid: "alice", password: "pw-alice", groups: ["devs"] },
  { uid: "bob", password: "pw-bob" },
];

const ACCESS: AccessControlSettings = {
  repositories: {
    "team/**": { policies: [{ users: [], groups: ["devs"], actions: ["read", "create", "update", "delete"] }], defaultPolicy: ["read"], anonymousPolicy: [] },
  },
  adminPolicy: { users: [], groups: [], actions: [] },
  groups: {},
};

function ldapOptions(server: LdapServer, overrides: Partial<LdapProviderOptions> = {}): LdapProviderOptions {
  return {
    url: server.url,
    startTLS: false,
    tls: {},
    baseDN: LDAP_USERS_DN,
    subtreeSearch: false,
    userAttribute: "uid",
    userGroupAttribute: "ou",
    bindDN: server.bindDN,
    bindPassword: server.bindPassword,
    ...overrides,
  };
}

function assertStatus(res: Answer, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.code(), code);
}

describe("LDAP authentication against slapd", () => {
  let pki: TestPki;
  let directory: LdapServer;
  let reg: RunningRegistry;
  before(async () => {
    pki = makeTestPki();
    directory = await startLdapServer(PEOPLE, { tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caCertFile } });
    reg = await startRegistry({ ldap: ldapOptions(directory), accessControl: ACCESS });
  });
  after(async () => {
    await reg.stop();
    await directory.stop();
    pki.remove();
  });

  it("a directory user in the allowed group pushes; the event's actor is that user", async () => {
    await pushImage(reg.url, "team/app", "v1", makeImage(), basic("alice", "pw-alice"));
    assert.equal(reg.publisher.ofKind("image.updated")[0]?.data.actor?.name, "alice");
  });

  it("a directory user outside the group reads but gets 403 DENIED for a push", async () => {
    assert.equal((await call(reg.url, "GET", "/v2/team/app/tags/list", { headers: basic("bob", "pw-bob") })).status, 200);
    const image = makeImage();
    assertStatus(await pushBlob(reg.url, "team/app", image.config.digest, image.config.data, basic("bob", "pw-bob")), 403, "DENIED");
  });

  it("refuses a wrong password, an empty one (an unauthenticated bind would succeed), an unknown user and filter wildcards", async () => {
    for (const [user, password] of [["alice", "wrong"], ["alice", ""], ["nobody", "pw-alice"], ["*", "pw-alice"], ["al*", "pw-alice"]] as const) {
      assertStatus(await call(reg.url, "GET", "/v2/", { headers: basic(user, password) }), 401, "UNAUTHORIZED");
    }
    assert.equal(escapeFilterValue("a*(b)\\"), "a\\2a\\28b\\29\\5c");
  });

  it("skopeo pushes and podman logs in with directory credentials", async () => {
    const layout = join(directory.dir, "layout");
    await writeLayout(layout, "v2", [makeImage()]);
    const push = await runCommand("skopeo", [
      "--insecure-policy", "copy", "--dest-tls-verify=false", "--retry-times", "0", "--dest-creds", "alice:pw-alice",
      `oci:${layout}:v2`, `docker://${reg.host}/team/app:v2`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    const podman = podmanIn(directory.dir);
    const authfile = join(directory.dir, "auth.json");
    const ok = await podman("login", "--authfile", authfile, "--tls-verify=false", "-u", "alice", "-p", "pw-alice", reg.host);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await podman("login", "--authfile", authfile, "--tls-verify=false", "-u", "alice", "-p", "nope", reg.host);
    assert.notEqual(wrong.code, 0);
  });

  it("talks LDAPS and StartTLS with the directory's CA, and never falls back when the certificate is not trusted", async () => {
    const ca = await readFile(pki.caCertFile);
    const variants: Array<Partial<LdapProviderOptions>> = [
      { url: directory.ldapsUrl!, tls: { ca } },
      { startTLS: true, tls: { ca } },
    ];
    for (const overrides of variants) {
      const secure = await startRegistry({ ldap: ldapOptions(directory, overrides) });
      try {
        assert.equal((await call(secure.url, "GET", "/v2/", { headers: basic("alice", "pw-alice") })).status, 200, JSON.stringify(overrides.url));
      } finally {
        await secure.stop();
      }
    }
    const untrusted = await startRegistry({ ldap: ldapOptions(directory, { url: directory.ldapsUrl! }) });
    try {
      const res = await call(untrusted.url, "GET", "/v2/", { headers: basic("alice", "pw-alice") });
      assert.equal(res.status, 500, "an unreachable directory is a server fault, not a login");
      assert.doesNotMatch(res.text, /pw-alice|search-secret/);
    } finally {
      await untrusted.stop();
    }
  });
});

describe("registry process with http.auth.ldap and accessControl from the config file", () => {
  const group = new ProcessGroup();
  let directory: LdapServer;
  after(async () => {
    await group.stopAll();
    await directory.stop();
  });

  it("is not anonymous and writable: without credentials 401, a directory user pushes", async () => {
    directory = await startLdapServer(PEOPLE);
    const credentials = join(directory.dir, "ldap-credentials.json");
    await writeFile(credentials, JSON.stringify({ bindDN: directory.bindDN, bindPassword: directory.bindPassword }));
    const port = await freePort();
    const config = await writeJsonFile(directory.dir, "config.json", {
      storage: { rootDirectory: join(directory.dir, "root") },
      http: {
        address: "127.0.0.1",
        port,
        auth: {
          ldap: {
            credentialsFile: credentials, address: "127.0.0.1", port: directory.port, insecure: true,
            baseDN: LDAP_USERS_DN, userAttribute: "uid", userGroupAttribute: "ou",
          },
        },
        accessControl: { repositories: { "team/**": { policies: [{ groups: ["devs"], actions: ["read", "create"] }] } } },
      },
      log: { level: "warn" },
    });
    await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    const url = `http://127.0.0.1:${port}`;
    assertStatus(await call(url, "GET", "/v2/"), 401, "UNAUTHORIZED");
    assertStatus(await call(url, "POST", "/v2/anyone/blobs/uploads/"), 401, "UNAUTHORIZED");
    assert.equal((await pushImage(url, "team/app", "v1", makeImage(), basic("alice", "pw-alice"))).status, 201);
  });
});
