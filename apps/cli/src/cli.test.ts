import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runBerth, USAGE } from "./cli.js";
import { recordIo } from "./test-support/record-io.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("berth", () => {
  it("prints usage on --help, exit 0", async () => {
    const io = recordIo();
    assert.equal(await runBerth(["--help"], io), 0);
    assert.deepEqual(io.stdout, [USAGE]);
    assert.match(USAGE, /config check/);
    assert.match(USAGE, /dlq list\|replay\|purge/);
    assert.match(USAGE, /sink pause\|resume\|test NAME · sink status/);
  });

  it("prints usage for no command or an unknown one, exit 2", async () => {
    const none = recordIo();
    assert.equal(await runBerth([], none), 2);
    assert.deepEqual(none.stderr, [USAGE]);
    const unknown = recordIo();
    assert.equal(await runBerth(["toString"], unknown), 2);
    assert.equal(unknown.stderr[0], 'berth: unknown command "toString"');
  });

  it("dispatches to the config group", async () => {
    const io = recordIo({ cwd: ROOT });
    assert.equal(await runBerth(["config", "check", "packages/config/examples/seed.json"], io), 0);
    assert.ok(JSON.parse(io.stdout.join("\n")));
  });

  it("runs as a real process: exit 0 for a valid config, 2 for an invalid one", async () => {
    const berth = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ["--conditions=development", "--import", "tsx", "apps/cli/src/main.ts", ...args],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? "" } },
      );
    const ok = await berth("config", "check", "packages/config/examples/full.json");
    assert.equal(JSON.parse(ok.stdout).extensions.events.sinks[0].name, "audit");
    assert.match(ok.stderr, /config OK: packages\/config\/examples\/full\.json \(5 sinks, 0 warnings\)/);

    const bad = await berth("config", "check", "apps/cli/package.json").then(
      () => assert.fail("expected exit 2"),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /storage\.rootDirectory: required/);
  });
});
