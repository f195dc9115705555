import assert from "node:assert/strict";
import { hashSync } from "bcryptjs";
import { after, before, describe, it } from "node:test";
import { parseBasicAuth } from "@berth/htpasswd";
import { basic, call } from "./test-support/client.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("htpasswd auth", () => {
  let reg: RunningRegistry;
  before(async () => {
    const b = hashSync("pw-b", 4);
    const y = hashSync("pw-y", 4).replace(/^\$2b\$/, "$2y$");
    reg = await startRegistry({
      htpasswd: `# comment\nbob:${b}\nyuri:${y}\nann:${hashSync("pw-a", 4).replace(/^\$2b\$/, "$2a$")}\n`,
    });
  });
  after(() => reg.stop());

  it("401 UNAUTHORIZED with a Basic challenge without or with wrong credentials", async () => {
    for (const headers of [{}, basic("bob", "wrong"), basic("nobody", "x"), { Authorization: "Bearer abc" }]) {
      const res = await call(reg.url, "GET", "/v2/", { headers });
      assert.equal(res.status, 401);
      assert.equal(res.code(), "UNAUTHORIZED");
      assert.equal(res.headers.get("www-authenticate"), 'Basic realm="Berth Registry"');
    }
  });

  it("accepts $2b$, $2y$ and $2a$ entries (and again from the cache)", async () => {
    for (const [user, pw] of [["bob", "pw-b"], ["yuri", "pw-y"], ["ann", "pw-a"], ["bob", "pw-b"]] as const) {
      assert.equal((await call(reg.url, "GET", "/v2/", { headers: basic(user, pw) })).status, 200, user);
    }
  });

  it("parses Basic credentials; passwords may contain colons", () => {
    assert.deepEqual(parseBasicAuth(basic("u", "a:b").Authorization), { user: "u", password: "a:b" });
    assert.equal(parseBasicAuth("Basic !!!"), undefined);
    assert.equal(parseBasicAuth(undefined), undefined);
  });
});

describe("access policies", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({ readOnly: true, limits: { maxInFlight: 0 } });
  });
  after(() => reg.stop());

  it("TOOMANYREQUESTS (429) beyond maxInFlight", async () => {
    const res = await call(reg.url, "GET", "/v2/");
    assert.equal(res.status, 429);
    assert.equal(res.code(), "TOOMANYREQUESTS");
  });
});

describe("read-only registry", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({ readOnly: true });
  });
  after(() => reg.stop());

  it("DENIED (403) for writes, reads still served", async () => {
    const res = await call(reg.url, "POST", "/v2/ro/blobs/uploads/");
    assert.equal(res.status, 403);
    assert.equal(res.code(), "DENIED");
    assert.equal((await call(reg.url, "GET", "/v2/")).status, 200);
  });

  it("ignores credentials it has no provider to check (a client's stored login)", async () => {
    assert.equal((await call(reg.url, "GET", "/v2/", { headers: basic("someone", "pw") })).status, 200);
    assert.equal((await call(reg.url, "GET", "/v2/", { headers: { Authorization: "Bearer abc" } })).status, 200);
  });
});
