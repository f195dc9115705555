/**
 * The convict formats of the top-level schema, each backed by a rule from value-rules.ts so
 * convict and Berth's own path-precise validation agree. `coerce` turns env strings (and zot's
 * string ports such as "8080") into typed values; a string that does not convert is left as is
 * so validation reports it.
 */
import convict from "convict";
import { LOG_LEVELS } from "./types.js";
import {
  anyString,
  boolean,
  httpUrl,
  integerAtLeast,
  nonEmptyString,
  oneOf,
  optional,
  port,
  positiveDuration,
  redisUrl,
  required,
  type Rule,
  secretString,
  stringList,
} from "./value-rules.js";

export interface BerthFormat {
  rule: Rule;
  coerce?: (text: string) => unknown;
}

const toInteger = (text: string): unknown => (/^\d+$/.test(text) ? Number(text) : text);
/** zot writes ports as numbers or numeric strings ("8080"). */
const toPort = toInteger;
const toBoolean = (text: string): unknown => ({ true: true, false: false })[text] ?? text;
const toList = (text: string): unknown => text.split(",").map((s) => s.trim());
const toLowerCase = (text: string): unknown => text.toLowerCase();

export const FORMATS = {
  "berth-string": { rule: nonEmptyString },
  "berth-optional-string": { rule: optional(anyString) },
  "berth-required-path": { rule: required("a directory path", nonEmptyString) },
  "berth-optional-path": { rule: optional(nonEmptyString) },
  "berth-secret": { rule: optional(secretString) },
  "berth-port": { rule: port, coerce: toPort },
  "berth-optional-port": { rule: optional(port), coerce: toPort },
  "berth-positive-integer": { rule: integerAtLeast(1), coerce: toInteger },
  "berth-boolean": { rule: boolean, coerce: toBoolean },
  "berth-positive-duration": { rule: positiveDuration },
  "berth-duration": { rule: positiveDuration },
  "berth-count": { rule: integerAtLeast(0), coerce: toInteger },
  "berth-positive-count": { rule: integerAtLeast(1), coerce: toInteger },
  "berth-log-level": { rule: oneOf(LOG_LEVELS), coerce: toLowerCase },
  "berth-string-list": { rule: stringList(), coerce: toList },
  "berth-redis-url": { rule: redisUrl },
  "berth-http-url": { rule: httpUrl },
  "berth-optional-http-url": { rule: optional(httpUrl) },
  // Sinks are an array of objects: convict only checks it is an array; sink-validation.ts
  // checks each sink with exact paths such as `extensions.events.sinks[1].type`.
  "berth-sinks": {
    rule: (v) => (Array.isArray(v) ? undefined : "must be an array of sink objects"),
  },
  // Checked in detail, with exact paths, by access-control-validation.ts.
  "berth-access-control": {
    rule: (v) => (v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v)) ? undefined : "must be an object"),
  },
} satisfies Record<string, BerthFormat>;

export type FormatName = keyof typeof FORMATS;

let registered = false;

/** convict keeps formats in a process-wide table; registering twice is harmless but pointless. */
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  for (const [name, format] of Object.entries(FORMATS) as [string, BerthFormat][]) {
    const validate = (value: unknown) => {
      const problem = format.rule(value);
      if (problem !== undefined) throw new Error(problem);
    };
    convict.addFormat({ name, validate, coerce: format.coerce });
  }
}
