import type { BerthIo } from "../io.js";

/** A BerthIo for tests: collects stdout and stderr lines. */
export interface RecordedIo extends BerthIo {
  stdout: string[];
  stderr: string[];
}

export function recordIo(options: { env?: BerthIo["env"]; cwd?: string } = {}): RecordedIo {
  const io: RecordedIo = {
    stdout: [],
    stderr: [],
    out: (line) => io.stdout.push(line),
    err: (line) => io.stderr.push(line),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
  return io;
}
