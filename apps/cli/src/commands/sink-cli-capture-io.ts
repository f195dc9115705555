import type { BerthConfig } from "@berth/config";
import type { CliIo } from "./sink-cli-io.js";

/** A CliIo for tests and embedding: collects output lines and hands out a config already loaded. */
export interface CapturedIo extends CliIo {
  stdout: string[];
  stderr: string[];
}

export function captureIo(config: BerthConfig, now: () => Date = () => new Date()): CapturedIo {
  const io: CapturedIo = {
    stdout: [],
    stderr: [],
    out: (line) => io.stdout.push(line),
    err: (line) => io.stderr.push(line),
    loadConfig: async () => config,
    now,
  };
  return io;
}
