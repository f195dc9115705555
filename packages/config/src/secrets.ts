/**
 * Where a secret comes from, first match wins: an env variable (so a deployment can keep it out
 * of the file), the inline value, or a file (`passwordFile`, `tokenFile`, `secretFile`; for
 * Docker/Kubernetes secrets). Inline value and file together are a mistake, not a precedence.
 */
import { resolvePath, readSecretFile } from "./files.js";
import { nonEmptyString, problemsAt, secretString } from "./value-rules.js";

type Env = Record<string, string | undefined>;

export interface SecretSource {
  /** JSON path of the inline key, e.g. `extensions.events.sinks[0].credentials.password`. */
  inlinePath: string;
  inline: unknown;
  /** JSON path of the file key, e.g. `…credentials.passwordFile`. */
  filePath: string;
  file: unknown;
  envName?: string;
}

export interface SecretContext {
  env: Env;
  baseDir: string;
  problems: string[];
}

function lastKey(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1);
}

export function resolveSecret(source: SecretSource, ctx: SecretContext): string | undefined {
  if (source.inline !== undefined && source.file !== undefined) {
    ctx.problems.push(
      `${source.filePath}: set ${lastKey(source.inlinePath)} or ${lastKey(source.filePath)}, not both`,
    );
    return undefined;
  }
  const fromEnv = source.envName === undefined ? undefined : ctx.env[source.envName];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (source.inline !== undefined) {
    const problems = problemsAt(source.inlinePath, secretString(source.inline));
    ctx.problems.push(...problems);
    return problems.length === 0 ? (source.inline as string) : undefined;
  }
  if (source.file === undefined) return undefined;
  const pathProblems = problemsAt(source.filePath, nonEmptyString(source.file));
  if (pathProblems.length > 0) {
    ctx.problems.push(...pathProblems);
    return undefined;
  }
  const read = readSecretFile(resolvePath(ctx.baseDir, source.file as string));
  if (read.ok) return read.text;
  ctx.problems.push(`${source.filePath}: ${read.problem}`);
  return undefined;
}
