import assert from "node:assert/strict";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "./load-config.js";
import { type ConfigReloader, type ReloadLogger, reloadConfigOnSighup } from "./reload.js";
import { minimalConfig, sinksOf, tempFiles } from "./test-support/fixtures.js";
import type { BerthConfig } from "./types.js";

/** A config whose only http sink posts to `address`. */
function configText(address: string, watch = true): string {
  const config = minimalConfig();
  sinksOf(config)[0]!.address = address;
  return JSON.stringify({ ...config, reload: { watch } });
}

/** Starts a reloader on `file`; every applied config and logged message is recorded. */
async function startReloader(file: string, beforeWatch?: () => void) {
  const applied: BerthConfig[] = [];
  const messages: string[] = [];
  const waiters: (() => void)[] = [];
  const note = (msg: string) => {
    messages.push(msg);
    for (const wake of waiters.splice(0)) wake();
  };
  const logger: ReloadLogger = { info: (_d, m) => note(m), warn: (_d, m) => note(m), error: (_d, m) => note(m) };
  const { config } = await loadConfig({ file, env: {} });
  beforeWatch?.();
  const reloader: ConfigReloader = reloadConfigOnSighup({
    file,
    env: {},
    current: config,
    logger,
    apply(next) {
      applied.push(next);
      return {};
    },
  });
  /** Resolves once `count` messages matching `pattern` were logged. */
  const logged = async (pattern: RegExp, count = 1) => {
    // The watcher holds no reference on the event loop (by design); this test must.
    const keepAlive = setInterval(() => {}, 1_000);
    try {
      while (messages.filter((m) => pattern.test(m)).length < count) await new Promise<void>((wake) => waiters.push(wake));
    } finally {
      clearInterval(keepAlive);
    }
  };
  return { reloader, applied, messages, logged };
}

const addressOf = (config: BerthConfig) => (config.extensions.events.sinks[0] as { address: string }).address;

describe("config reload when the file changes (reload.watch)", { timeout: 60_000 }, () => {
  it("applies an edited file, refuses an invalid one, and follows an atomic rename and a symlink swap", async () => {
    const files = tempFiles({ "berth.json": configText("https://a.example.com/") });
    const file = join(files.dir, "berth.json");
    const r = await startReloader(file);
    try {
      writeFileSync(file, configText("https://b.example.com/"));
      await r.logged(/^config reloaded$/);
      assert.equal(addressOf(r.applied[0]!), "https://b.example.com/");

      writeFileSync(file, "{ not json");
      await r.logged(/refused/);
      assert.equal(r.applied.length, 1, "an invalid file is not applied");

      // An editor's save: a new file renamed over the old one.
      writeFileSync(join(files.dir, "berth.json.swp"), configText("https://c.example.com/"));
      renameSync(join(files.dir, "berth.json.swp"), file);
      await r.logged(/^config reloaded$/, 2);
      assert.equal(addressOf(r.applied[1]!), "https://c.example.com/");

      // A save that changes nothing reloads nothing; the change after it reloads once.
      writeFileSync(file, configText("https://c.example.com/"));
      writeFileSync(file, configText("https://d.example.com/"));
      await r.logged(/^config reloaded$/, 3);
      assert.deepEqual(r.applied.map(addressOf).slice(2), ["https://d.example.com/"]);
    } finally {
      r.reloader.stop();
      files.remove();
    }
  });

  it("catches up with an edit made between the start-up load and the watch's start", async () => {
    const files = tempFiles({ "berth.json": configText("https://a.example.com/") });
    const file = join(files.dir, "berth.json");
    const r = await startReloader(file, () => writeFileSync(file, configText("https://b.example.com/")));
    try {
      await r.logged(/^config reloaded$/);
      assert.ok(r.messages.includes("config file changed since start-up; reloading"));
      assert.deepEqual(r.applied.map(addressOf), ["https://b.example.com/"]);
    } finally {
      r.reloader.stop();
      files.remove();
    }
  });

  it("follows a Kubernetes-style ConfigMap update (the file is a symlink into a swapped ..data link)", async () => {
    const files = tempFiles({});
    const dir = files.dir;
    const version = (name: string, address: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "berth.json"), configText(address));
    };
    version("v1", "https://a.example.com/");
    symlinkSync("v1", join(dir, "..data"));
    symlinkSync(join("..data", "berth.json"), join(dir, "berth.json"));
    const r = await startReloader(join(dir, "berth.json"));
    try {
      version("v2", "https://b.example.com/");
      symlinkSync("v2", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      await r.logged(/^config reloaded$/);
      assert.equal(addressOf(r.applied[0]!), "https://b.example.com/");
    } finally {
      r.reloader.stop();
      files.remove();
    }
  });

  it("does not watch when reload.watch is false: only SIGHUP reloads", async () => {
    const files = tempFiles({ "berth.json": configText("https://a.example.com/", false) });
    const file = join(files.dir, "berth.json");
    const r = await startReloader(file);
    try {
      writeFileSync(file, configText("https://b.example.com/", false));
      // The explicit reload (what SIGHUP runs) is the first and only one.
      await r.reloader.reload();
      assert.equal(r.applied.length, 1);
      assert.equal(r.messages.filter((m) => /config file changed/.test(m)).length, 0);
    } finally {
      r.reloader.stop();
      files.remove();
    }
  });
});
