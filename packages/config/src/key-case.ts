/**
 * Rewrites a raw config onto canonical key spellings before validation: keys match
 * case-insensitively (as in zot), unknown keys are dropped with a warning naming their full
 * path, and values of the wrong shape (a string where an object belongs) become problems.
 * JSON `null` counts as "not set".
 */
import { describeValue } from "./describe-value.js";
import type { KeyShape } from "./key-tree.js";

export interface CanonicalResult {
  value: unknown;
  warnings: string[];
  problems: string[];
}

type Findings = Omit<CanonicalResult, "value">;

export function joinPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function lookupTable(shape: Extract<KeyShape, { kind: "object" }>): Map<string, string> {
  const table = new Map<string, string>();
  for (const key of Object.keys(shape.keys)) table.set(key.toLowerCase(), key);
  for (const [alias, key] of Object.entries(shape.aliases ?? {})) table.set(alias, key);
  return table;
}

export function canonicalizeKeys(raw: unknown, shape: KeyShape, path = ""): CanonicalResult {
  const found: Findings = { warnings: [], problems: [] };
  const value = walk(raw, shape, path, found);
  return { value, ...found };
}

function walk(raw: unknown, shape: KeyShape, path: string, out: Findings): unknown {
  if (raw === null || raw === undefined) return undefined;
  switch (shape.kind) {
    case "leaf":
      // No leaf takes an object; convict would also crash walking into one.
      if (isPlainObject(raw)) return fail(out, `${path}: ${describeValue(raw)} must be a single value, not an object`);
      return raw;
    case "open":
      return raw;
    case "map":
      if (!isPlainObject(raw)) return fail(out, `${path}: ${describeValue(raw)} must be an object`);
      return { ...raw };
    case "list":
      return walkList(raw, shape, path, out);
    case "object":
      return walkObject(raw, shape, path, out);
  }
}

function fail(out: Findings, problem: string): undefined {
  out.problems.push(problem);
  return undefined;
}

function walkList(
  raw: unknown,
  shape: Extract<KeyShape, { kind: "list" }>,
  path: string,
  out: Findings,
): unknown {
  if (!Array.isArray(raw)) {
    return fail(out, `${path}: ${describeValue(raw)} must be an array of ${shape.itemLabel}`);
  }
  return raw.map((item, i) => {
    const at = `${path}[${i}]`;
    // Checked here, not in walk(), so a `null` item is reported rather than read as "not set".
    if (shape.item.kind === "object" && !isPlainObject(item)) {
      return fail(out, `${at}: ${describeValue(item)} must be ${shape.itemNoun}`);
    }
    return walk(item, shape.item, at, out);
  });
}

function walkObject(
  raw: unknown,
  shape: Extract<KeyShape, { kind: "object" }>,
  path: string,
  out: Findings,
): unknown {
  if (!isPlainObject(raw)) {
    return fail(out, `${path || "config"}: ${describeValue(raw)} must be an object`);
  }
  const table = lookupTable(shape);
  const result: Record<string, unknown> = {};
  const spelledAs = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const canonical = table.get(key.toLowerCase());
    if (canonical === undefined) {
      out.warnings.push(`${joinPath(path, key)}: unknown key, ignored`);
      continue;
    }
    const earlier = spelledAs.get(canonical);
    if (earlier !== undefined) {
      out.problems.push(
        `${joinPath(path, key)}: same key as ${joinPath(path, earlier)} (keys are case-insensitive); keep one`,
      );
      continue;
    }
    spelledAs.set(canonical, key);
    const child = walk(value, shape.keys[canonical]!, joinPath(path, canonical), out);
    if (child !== undefined) result[canonical] = child;
  }
  return result;
}
