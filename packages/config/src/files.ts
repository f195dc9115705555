/**
 * Files named by the config (secrets, certificates, htpasswd): relative paths resolve against
 * the config file's directory, and each file is read once at start-up so a missing one is a
 * config problem now rather than a delivery failure later.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

export function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export type FileRead = { ok: true; text: string } | { ok: false; problem: string };

export function readConfigFile(file: string): FileRead {
  try {
    return { ok: true, text: readFileSync(file, "utf8") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ok: false, problem: `cannot read ${JSON.stringify(file)}: ${code}` };
  }
}

/** A secret file's content without its trailing newline (`echo pw > file` adds one). */
export function readSecretFile(file: string): FileRead {
  const read = readConfigFile(file);
  if (!read.ok) return read;
  const text = read.text.replace(/\r?\n$/, "");
  return text.length > 0 ? { ok: true, text } : { ok: false, problem: `${JSON.stringify(file)} is empty` };
}
