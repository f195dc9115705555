/** Runs the `berth` CLI from source as an operator would, with BERTH_* variables of the caller's shell removed. */
import { execFile } from "node:child_process";
import { REPO_ROOT } from "@berth/testing/process-harness";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The test runner's environment minus BERTH_* (a developer's shell must not change the verdict). */
function withoutBerthVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BERTH_")));
}

export function berth(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=development", "--import", "tsx", "apps/cli/src/main.ts", ...args],
      { cwd: REPO_ROOT, env: { ...withoutBerthVariables(), ...env }, timeout: 60_000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
