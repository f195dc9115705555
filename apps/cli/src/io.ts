/**
 * What a command needs from the process, passed in so tests drive commands without spawning:
 * output lines, the environment and the working directory.
 */
export interface BerthIo {
  /** One line of result (stdout). */
  out(line: string): void;
  /** One line of diagnostics: warnings, problems, usage on error (stderr). */
  err(line: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
}

export const EXIT_OK = 0;
/** The command ran and failed for a reason outside the input (e.g. an unexpected error). */
export const EXIT_FAILED = 1;
/** Bad input: unknown command or flag, missing or invalid config. */
export const EXIT_USAGE = 2;
