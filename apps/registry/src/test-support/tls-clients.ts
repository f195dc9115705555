/**
 * Real clients over TLS: skopeo and podman read a "cert dir" (`*.crt` = CAs to trust,
 * `*.cert` + `*.key` = a client certificate), curl takes files.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestPki } from "@berth/testing/test-pki";

const exec = promisify(execFile);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(file: string, args: string[], timeout = 60_000): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await exec(file, args, { timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** A cert dir trusting the test CA, with a client certificate when given. */
export async function certDir(dir: string, pki: TestPki, client?: { certFile: string; keyFile: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(pki.caCertFile, join(dir, "ca.crt"));
  if (client) {
    await copyFile(client.certFile, join(dir, "client.cert"));
    await copyFile(client.keyFile, join(dir, "client.key"));
  }
  return dir;
}

/** podman with its own storage and auth file under `dir`, so tests never touch the host's. */
export function podmanIn(dir: string): (...args: string[]) => Promise<CommandResult> {
  const storage = ["--root", join(dir, "podman-root"), "--runroot", join(dir, "podman-run"), "--storage-driver", "vfs"];
  return (...args) => runCommand("podman", [...storage, ...args]);
}
