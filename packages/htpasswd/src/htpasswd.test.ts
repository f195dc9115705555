import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { createBcryptPool } from "./bcrypt-pool.js";
import { createFailureLimiter } from "./failure-limiter.js";
import { createHtpasswd, loadHtpasswd } from "./htpasswd.js";
import { HtpasswdError, parseHtpasswd } from "./htpasswd-file.js";

const hash = (pw: string, cost = 4) => bcrypt.hashSync(pw, cost);

describe("htpasswd file", () => {
  it("accepts $2a$, $2b$ and $2y$ entries, comments and blank lines; reports the highest cost", () => {
    const text = `# users\n\nann:${hash("a").replace("$2b$", "$2a$")}\r\nbob:${hash("b", 5)}\nyuri:${hash("y").replace("$2b$", "$2y$")}\n`;
    const { users, maxCost } = parseHtpasswd(text, "/etc/h");
    assert.deepEqual([...users.keys()], ["ann", "bob", "yuri"]);
    assert.equal(maxCost, 5);
  });

  it("refuses a non-bcrypt entry at load, naming the file and line but not the hash", () => {
    for (const bad of [`x:$2x$${hash("1").slice(4)}`, "md5:$apr1$abc$def", "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "plain:secret", "nocolon", ":$2b$"]) {
      assert.throws(
        () => parseHtpasswd(`ok:${hash("x")}\n${bad}\n`, "/etc/berth/htpasswd"),
        (err: Error) =>
          err instanceof HtpasswdError &&
          err.message.startsWith("/etc/berth/htpasswd line 2: expected user:<bcrypt hash>") &&
          !err.message.includes("apr1") &&
          !err.message.includes("secret"),
      );
    }
    assert.throws(() => parseHtpasswd("# nobody\n", "f"), /f: no users/);
    assert.throws(() => parseHtpasswd(`a:${hash("1")}\na:${hash("2")}\n`, "f"), /f line 2: user "a" appears twice/);
  });

  it("loadHtpasswd names an unreadable file", async () => {
    await assert.rejects(loadHtpasswd("/nonexistent/htpasswd"), /cannot read htpasswd file \/nonexistent\/htpasswd: ENOENT/);
  });
});

describe("htpasswd verify", () => {
  const pool = createBcryptPool({ size: 1 });
  after(() => pool.close());

  it("checks known and unknown users with one bcrypt compare each, on the pool", async () => {
    const h = await createHtpasswd(`bob:${hash("pw")}\n`, "mem", { pool });
    const before = pool.completed();
    assert.equal(await h.verify("bob", "wrong"), false);
    assert.equal(await h.verify("nobody", "wrong"), false);
    assert.equal(await h.verify("nobody", ""), false);
    assert.equal(pool.completed() - before, 3, "an unknown user costs a compare too");
  });

  it("remembers a success without a second compare, never a failure, and forgets after rememberMs", async () => {
    let t = 0;
    const h = await createHtpasswd(`bob:${hash("pw")}\n`, "mem", { pool, rememberMs: 1000, now: () => t });
    assert.equal(h.remembers("bob", "pw"), false);
    assert.equal(await h.verify("bob", "pw"), true);
    const before = pool.completed();
    assert.equal(h.remembers("bob", "pw"), true);
    assert.equal(await h.verify("bob", "pw"), true);
    assert.equal(h.remembers("bob", "pW"), false);
    assert.equal(pool.completed(), before);
    t = 1000;
    assert.equal(h.remembers("bob", "pw"), false);
  });

  it("compares off the event loop: timers keep firing during a cost-10 compare", async () => {
    const h = await createHtpasswd(`bob:${hash("pw", 10)}\n`, "mem", { pool });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      assert.equal(await h.verify("bob", "wrong"), false);
    } finally {
      clearInterval(timer);
    }
    // bcryptjs on the event loop runs a compare in one synchronous call: zero ticks in between.
    assert.ok(ticks > 0, `ticks during the compare: ${ticks}`);
  });
});

describe("bcrypt pool", () => {
  it("refuses compares beyond maxQueued at once", async () => {
    const pool = createBcryptPool({ size: 1, maxQueued: 1 });
    try {
      const h = hash("x", 10);
      const first = pool.compare("a", h);
      const second = pool.compare("b", h);
      await assert.rejects(pool.compare("c", h), { name: "HashPoolBusyError" });
      assert.deepEqual(await Promise.all([first, second]), [false, false]);
    } finally {
      await pool.close();
    }
  });

  it("drops a compare whose caller gave up while it waited; one already on a thread finishes", async () => {
    const pool = createBcryptPool({ size: 1 });
    try {
      const h = hash("x", 10);
      const running = new AbortController();
      const waiting = new AbortController();
      const first = pool.compare("x", h, running.signal);
      const second = pool.compare("b", h, waiting.signal);
      assert.equal(pool.queued(), 1);
      waiting.abort();
      running.abort();
      await assert.rejects(second, { name: "PasswordCheckAbandoned", code: "ECONNABORTED" });
      assert.equal(pool.queued(), 0);
      assert.equal(await first, true);
      assert.equal(await pool.compare("x", h), true);
      // The first and the last ran; the dropped one never reached a thread.
      assert.equal(pool.completed(), 2);
      await assert.rejects(pool.compare("x", h, AbortSignal.abort()), { name: "PasswordCheckAbandoned" });
    } finally {
      await pool.close();
    }
  });

  it("rejects a size that is not a positive integer", () => {
    assert.throws(() => createBcryptPool({ size: 0 }), RangeError);
  });
});

describe("failure limiter", () => {
  it("refuses an address after `limit` failures until its window ends, others unaffected", () => {
    let t = 0;
    const limiter = createFailureLimiter({ limit: 3, windowMs: 60_000, now: () => t });
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfterSeconds("10.0.0.1"), 0);
      limiter.recordFailure("10.0.0.1");
    }
    assert.equal(limiter.retryAfterSeconds("10.0.0.1"), 60);
    assert.equal(limiter.retryAfterSeconds("10.0.0.2"), 0);
    t = 59_500;
    assert.equal(limiter.retryAfterSeconds("10.0.0.1"), 1);
    t = 60_000;
    assert.equal(limiter.retryAfterSeconds("10.0.0.1"), 0);
  });

  it("tracks at most maxAddresses", () => {
    const limiter = createFailureLimiter({ limit: 1, windowMs: 60_000, maxAddresses: 2 });
    for (const a of ["a", "b", "c"]) limiter.recordFailure(a);
    assert.equal(limiter.retryAfterSeconds("a"), 0, "the oldest was forgotten");
    assert.ok(limiter.retryAfterSeconds("c") > 0);
  });
});

describe("loadHtpasswd", () => {
  it("reads a file from disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-htpasswd-"));
    try {
      await writeFile(join(dir, "h"), `bob:${hash("pw")}\n`);
      const h = await loadHtpasswd(join(dir, "h"), { pool: createBcryptPool({ size: 1 }) });
      assert.equal(h.userCount, 1);
      assert.equal(await h.verify("bob", "pw"), true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
