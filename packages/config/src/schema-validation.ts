/**
 * Checks every top-level value against its schema format and reports each problem with its
 * full JSON path. Runs on convict's merged values (file + defaults + env), so a bad env value
 * is reported too, naming the variable it came from.
 */
import { FORMATS } from "./formats.js";
import { joinPath } from "./key-case.js";
import { isSchemaLeaf, type SchemaNode } from "./schema.js";
import { problemsAt } from "./value-rules.js";

type Env = Record<string, string | undefined>;

export function validateSchema(
  schema: SchemaNode,
  values: Record<string, unknown>,
  env: Env,
  path = "",
): string[] {
  const problems: string[] = [];
  for (const [key, node] of Object.entries(schema)) {
    const at = joinPath(path, key);
    const value = values[key];
    if (!isSchemaLeaf(node)) {
      const child = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
      problems.push(...validateSchema(node, child, env, at));
      continue;
    }
    const found = problemsAt(at, FORMATS[node.format].rule(value));
    const fromEnv = node.env !== undefined && env[node.env] !== undefined;
    problems.push(...found.map((p) => (fromEnv ? `${p} (set by ${node.env})` : p)));
  }
  return problems;
}
