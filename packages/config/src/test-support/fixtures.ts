import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config-error.js";
import { parseConfig } from "../parse-config.js";

export const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));

export function readExample(name: string): unknown {
  return JSON.parse(readFileSync(join(EXAMPLES_DIR, name), "utf8"));
}

/** A temporary directory with the given files; `remove()` deletes it. */
export function tempFiles(files: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "berth-config-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small valid config: one http sink, one nats sink. Tests change one thing at a time. */
export function minimalConfig(): Record<string, unknown> {
  return {
    storage: { rootDirectory: "/tmp/berth-test" },
    extensions: {
      events: {
        enable: true,
        sinks: [
          { type: "http", address: "https://hooks.example.com/a" },
          { type: "nats", address: "nats://127.0.0.1:4222", channel: "alerts" },
        ],
      },
    },
  };
}

/** The sinks array of a config built by minimalConfig(). */
export function sinksOf(config: Record<string, unknown>): Record<string, unknown>[] {
  const ext = config.extensions as { events: { sinks: Record<string, unknown>[] } };
  return ext.events.sinks;
}

/** The problems parseConfig reports for `raw` (no env); fails the test when it accepts it. */
export function problemsOfConfig(raw: unknown): string[] {
  try {
    parseConfig(raw, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the config was accepted");
}
