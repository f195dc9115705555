import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { formatConfig } from "./mask.js";
import { parseConfig } from "./parse-config.js";
import { minimalConfig, problemsOfConfig, tempFiles } from "./test-support/fixtures.js";

type Raw = Record<string, unknown>;

describe("parseConfig: http.tls", () => {
  const files = tempFiles({ "server.crt": "cert", "server.key": "key", "ca.crt": "ca" });
  after(() => files.remove());
  const withTls = (tls: unknown): Raw => ({ ...minimalConfig(), http: { tls } });

  it("resolves cert, key and cacert (any case, as zot's CACert) to absolute paths", () => {
    const { config } = parseConfig(withTls({ Cert: "server.crt", key: "server.key", CACert: "ca.crt" }), { env: {}, baseDir: files.dir });
    assert.deepEqual(config.http.tls, {
      certFile: join(files.dir, "server.crt"),
      keyFile: join(files.dir, "server.key"),
      caCertFile: join(files.dir, "ca.crt"),
    });
    assert.equal(parseConfig(minimalConfig(), { env: {} }).config.http.tls, undefined);
  });

  it("refuses half a TLS setup instead of falling back to plain HTTP", () => {
    const cert = join(files.dir, "server.crt");
    assert.deepEqual(problemsOfConfig(withTls({ cert })), [
      "http.tls: set both cert and key (a certificate without its key, or the reverse, cannot serve HTTPS)",
    ]);
    assert.deepEqual(problemsOfConfig(withTls({ cacert: join(files.dir, "ca.crt") })), [
      "http.tls.cacert: client certificates need TLS: set http.tls.cert and http.tls.key too",
    ]);
    const missing = problemsOfConfig(withTls({ cert, key: join(files.dir, "nope.key") }));
    assert.equal(missing.length, 1);
    assert.match(missing[0]!, /^http\.tls\.key: .*nope\.key/);
  });
});

describe("parseConfig: http.accessControl", () => {
  const files = tempFiles({ htpasswd: "alice:$2y$05$abcdefghijklmnopqrstuuSBbX2v9bJcFhrWr3Zkuh8Z2v9bJcFhrW\n", "signer.crt": "cert" });
  after(() => files.remove());
  const withAccess = (accessControl: unknown): Raw => ({
    ...minimalConfig(),
    http: { auth: { htpasswd: { path: join(files.dir, "htpasswd") } }, accessControl },
  });

  it("reads zot's block, whatever the case of its keys, with defaults for what is left out", () => {
    const { config, warnings } = parseConfig(
      withAccess({
        repositories: {
          "**": { defaultpolicy: ["read"], anonymousPolicy: ["Read"] },
          "team-a/**": { Policies: [{ users: ["alice"], actions: ["read", "create", "update", "delete"] }] },
        },
        adminpolicy: { users: ["root"], actions: ["delete"] },
        groups: { devs: { users: ["alice", "bob"] } },
      }),
      { env: {} },
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.http.accessControl, {
      repositories: {
        "**": { policies: [], defaultPolicy: ["read"], anonymousPolicy: ["read"] },
        "team-a/**": {
          policies: [{ users: ["alice"], groups: [], actions: ["read", "create", "update", "delete"] }],
          defaultPolicy: [],
          anonymousPolicy: [],
        },
      },
      adminPolicy: { users: ["root"], groups: [], actions: ["delete"] },
      groups: { devs: ["alice", "bob"] },
    });
  });

  it("reads the users allowed to read /metrics", () => {
    const { config } = parseConfig(withAccess({ repositories: {}, metrics: { users: ["prometheus"] } }), { env: {} });
    assert.deepEqual(config.http.accessControl?.metricsUsers, ["prometheus"]);
  });

  it("names the exact path of a bad action, a bad list and a bad metrics block", () => {
    const problems = problemsOfConfig(
      withAccess({
        repositories: { "**": { policies: [{ users: "alice", actions: ["pull"] }] } },
        metrics: { users: "prometheus" },
      }),
    );
    assert.deepEqual(problems, [
      'http.accessControl.repositories["**"].policies[0].users: "alice" must be an array of strings',
      'http.accessControl.repositories["**"].policies[0].actions[0]: "pull" is not an action (allowed: read, create, update, delete)',
      'http.accessControl.metrics.users: "prometheus" must be an array of strings',
    ]);
  });

  it("ignores zot's detectManifestCollision action with a warning, and warns when no authentication is set", () => {
    const raw = { ...minimalConfig(), http: { accessControl: { repositories: { "**": { anonymousPolicy: ["read", "detectManifestCollision"] } } } } };
    const { config, warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.http.accessControl?.repositories["**"]?.anonymousPolicy, ["read"]);
    assert.deepEqual(warnings, [
      'http.accessControl.repositories["**"].anonymousPolicy[1]: "detectManifestCollision" is a zot behaviour switch Berth does not have; ignored',
      "http.accessControl: no authentication is configured (http.auth.htpasswd, http.auth.ldap, http.auth.bearer or http.tls.cacert), so only anonymousPolicy grants anything",
    ]);
  });
});

describe("parseConfig: http.auth.bearer", () => {
  const files = tempFiles({ "signer.crt": "cert" });
  after(() => files.remove());
  const withBearer = (bearer: unknown): Raw => ({ ...minimalConfig(), http: { auth: { bearer } } });

  it("resolves realm, service and the signing certificate", () => {
    const { config } = parseConfig(withBearer({ realm: "https://auth/token", service: "registry", cert: "signer.crt" }), { env: {}, baseDir: files.dir });
    assert.deepEqual(config.http.auth.bearer, { realm: "https://auth/token", service: "registry", certFile: join(files.dir, "signer.crt") });
  });

  it("refuses a realm that is not an http(s) URL", () => {
    const problems = problemsOfConfig(withBearer({ realm: "auth.example.com/token", service: "registry", cert: join(files.dir, "signer.crt") }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^http\.auth\.bearer\.realm: "auth\.example\.com\/token" is not an http\(s\) URL/);
  });

  it("refuses a partial block instead of running without the authentication it meant", () => {
    assert.deepEqual(problemsOfConfig(withBearer({ realm: "https://auth/token", service: "registry" })), [
      "http.auth.bearer: set realm, service and cert together (the token service URL, this registry's service name, the token signing certificate)",
    ]);
  });
});

describe("parseConfig: http.auth.ldap", () => {
  const files = tempFiles({
    "ldap.json": JSON.stringify({ bindDN: "cn=search,dc=example,dc=org", bindPassword: "ldap-secret" }),
    "bad.json": '{"bindDN": "cn=x", "bindPassword": "leaky-secret"',
    "ca.crt": "ca",
  });
  after(() => files.remove());
  const withLdap = (ldap: Raw): Raw => ({ ...minimalConfig(), http: { auth: { ldap } } });
  const zotLdap = { credentialsFile: "ldap.json", address: "ldap.example.org", baseDN: "ou=Users,dc=example,dc=org", userAttribute: "uid" };

  it("reads zot's block: LDAPS by default, StartTLS or plain when asked, the search account from credentialsFile", () => {
    const { config } = parseConfig(withLdap({ ...zotLdap, userGroupAttribute: "memberOf", subtreeSearch: true, cacert: "ca.crt" }), { env: {}, baseDir: files.dir });
    assert.deepEqual(config.http.auth.ldap, {
      url: "ldaps://ldap.example.org:636",
      startTLS: false,
      skipVerify: false,
      caCertFile: join(files.dir, "ca.crt"),
      baseDN: "ou=Users,dc=example,dc=org",
      subtreeSearch: true,
      userAttribute: "uid",
      userGroupAttribute: "memberOf",
      bindDN: "cn=search,dc=example,dc=org",
      bindPassword: "ldap-secret",
    });
    const startTls = parseConfig(withLdap({ ...zotLdap, startTLS: true, port: "3389" }), { env: {}, baseDir: files.dir });
    assert.equal(startTls.config.http.auth.ldap?.url, "ldap://ldap.example.org:3389");
    assert.equal(startTls.config.http.auth.ldap?.startTLS, true);
    const plain = parseConfig(withLdap({ ...zotLdap, insecure: true }), { env: {}, baseDir: files.dir });
    assert.equal(plain.config.http.auth.ldap?.url, "ldap://ldap.example.org:389");
  });

  it("masks the search password wherever the config is printed", () => {
    const { config } = parseConfig(withLdap(zotLdap), { env: {}, baseDir: files.dir });
    const printed = formatConfig(config);
    assert.doesNotMatch(printed, /ldap-secret/);
    assert.match(printed, /"bindPassword": "\*\*\*\*\*"/);
  });

  it("refuses a broken credentials file without showing it, and contradictory transport settings", () => {
    const problems = problemsOfConfig(withLdap({ ...zotLdap, credentialsFile: join(files.dir, "bad.json"), insecure: true, startTLS: true }));
    assert.deepEqual(problems, [
      "http.auth.ldap: insecure and startTLS contradict each other; set one",
      "http.auth.ldap.credentialsFile: must hold a JSON object with non-empty bindDN and bindPassword strings (content not shown)",
    ]);
    assert.doesNotMatch(problems.join("\n"), /leaky-secret/);
  });
});

describe("parseConfig: dashboard.auth.htpasswd", () => {
  const files = tempFiles({ htpasswd: "alice:$2y$05$abcdefghijklmnopqrstuuSBbX2v9bJcFhrWr3Zkuh8Z2v9bJcFhrW\n" });
  after(() => files.remove());
  const withDashboard = (htpasswd: unknown): Raw => ({ ...minimalConfig(), dashboard: { auth: { htpasswd } } });

  it("takes a path or { path } (the shape of http.auth.htpasswd), both to the same file", () => {
    const file = join(files.dir, "htpasswd");
    assert.equal(parseConfig(withDashboard(file)).config.dashboard.auth.htpasswdPath, file);
    assert.equal(parseConfig(withDashboard({ path: file })).config.dashboard.auth.htpasswdPath, file);
  });

  it("names the key and both allowed shapes for anything else", () => {
    for (const bad of [{ path: 7 }, { file: "x" }, { path: "x", extra: 1 }]) {
      assert.match(problemsOfConfig(withDashboard(bad)).join("\n"), /dashboard\.auth\.htpasswd: .* must be a path or \{ path: <file> \} \(as http\.auth\.htpasswd\)/);
    }
  });
});
