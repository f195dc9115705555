/**
 * loadConfig: reads the JSON config file (zot's format) and parses it; relative paths in it
 * resolve against the file's directory. Any failure is a ConfigError that names the file.
 */
import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { type Env, type ParsedConfig, parseConfig } from "./parse-config.js";

export interface LoadOptions {
  /** Config file; without one the config is defaults + env (e.g. BERTH_STORAGE_ROOT). */
  file?: string;
  env: Env;
  /** Where a relative `file` and, without a file, relative paths resolve; default process.cwd(). */
  cwd?: string;
}

export async function loadConfig(options: LoadOptions): Promise<ParsedConfig> {
  const cwd = options.cwd ?? process.cwd();
  if (options.file === undefined) return parseConfig({}, { env: options.env, baseDir: cwd });
  const file = resolve(cwd, options.file);
  const raw = await readJson(file);
  try {
    return parseConfig(raw, { env: options.env, baseDir: dirname(file) });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems, { file });
    throw err;
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([`cannot read ${JSON.stringify(file)}: ${code}`], { file });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // zot also reads YAML and TOML; Berth reads the JSON form only.
    const hint = [".yaml", ".yml", ".toml"].includes(extname(file)) ? " (Berth reads JSON configs only)" : "";
    throw new ConfigError([`${JSON.stringify(file)} is not valid JSON: ${(err as Error).message}${hint}`], {
      file,
    });
  }
}
