/**
 * The real `skopeo` client (Debian package) driving a registry under test over plain HTTP.
 * `--insecure-policy` because test machines need no /etc/containers/policy.json.
 */
import { execFile } from "node:child_process";

export const SKOPEO = "/usr/bin/skopeo";

export interface SkopeoResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SkopeoOptions {
  /** `user:password` for the registry. */
  creds?: string;
  /** Bound on the whole command. */
  timeoutMs?: number;
}

function run(args: string[], timeoutMs: number): Promise<SkopeoResult> {
  return new Promise((resolve) => {
    execFile(SKOPEO, args, { timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `skopeo copy oci:LAYOUT:TAG docker://REF` (with `--all` for an index and its images). */
export function skopeoPush(
  layoutDir: string,
  tag: string,
  destination: string,
  options: SkopeoOptions & { all?: boolean } = {},
): Promise<SkopeoResult> {
  const args = ["--insecure-policy", "copy", "--dest-tls-verify=false", "--retry-times", "0"];
  if (options.creds) args.push("--dest-creds", options.creds);
  if (options.all) args.push("--all");
  args.push(`oci:${layoutDir}:${tag}`, `docker://${destination}`);
  return run(args, options.timeoutMs ?? 30_000);
}

/** `skopeo delete docker://REF`. */
export function skopeoDelete(destination: string, options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const args = ["--insecure-policy", "delete", "--tls-verify=false"];
  if (options.creds) args.push("--creds", options.creds);
  args.push(`docker://${destination}`);
  return run(args, options.timeoutMs ?? 30_000);
}

/** `skopeo inspect --raw docker://REF`: the manifest bytes as the registry serves them. */
export function skopeoInspectRaw(destination: string, options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const args = ["--insecure-policy", "inspect", "--raw", "--tls-verify=false"];
  if (options.creds) args.push("--creds", options.creds);
  args.push(`docker://${destination}`);
  return run(args, options.timeoutMs ?? 30_000);
}
