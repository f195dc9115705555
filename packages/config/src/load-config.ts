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
    const problem = `${JSON.stringify(file)} is not valid JSON: ${syntaxError(err as Error, text)}${hint}`;
    throw new ConfigError([problem], { file });
  }
}

/**
 * V8's JSON errors quote a slice of the input, which may hold a secret: keep the reason
 * ("Unexpected token '}'"), drop the quote, and add line:column when V8 gives a position.
 */
function syntaxError(err: Error, text: string): string {
  const reason = err.message.split(/, "|\s+in JSON at position|\s+is not valid JSON/)[0] ?? "syntax error";
  const position = /at position (\d+)/.exec(err.message)?.[1];
  if (position === undefined) return reason;
  const before = text.slice(0, Number(position)).split("\n");
  return `${reason} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}
