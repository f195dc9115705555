/**
 * One rule per kind of value. A rule returns the problem text (without the JSON path) or
 * undefined when the value is fine; the text always names the bad value and what is allowed.
 * Secret values are never put into a problem (see `secretString`).
 */
import { describeValue, kindOf } from "./describe-value.js";
import { DURATION_EXAMPLES, parseDuration } from "./duration.js";

export type Rule = (value: unknown) => string | undefined;

/**
 * Turns a rule's result into full problems. List rules report one line per bad item, each
 * starting with its index ("[2]: ..."), so the path stays exact: `x.events[2]: ...`.
 */
export function problemsAt(path: string, result: string | undefined): string[] {
  if (result === undefined) return [];
  return result.split("\n").map((line) => (line.startsWith("[") ? `${path}${line}` : `${path}: ${line}`));
}

export const anyString: Rule = (v) =>
  typeof v === "string" ? undefined : `${describeValue(v)} must be a string`;

export const nonEmptyString: Rule = (v) =>
  typeof v === "string" && v.length > 0 ? undefined : `${describeValue(v)} must be a non-empty string`;

/** For passwords and tokens: the problem names the kind of value, never the value. */
export const secretString: Rule = (v) =>
  typeof v === "string" && v.length > 0
    ? undefined
    : `must be a non-empty string, got ${typeof v === "string" ? "an empty string" : kindOf(v)} (value not shown)`;

export const required =
  (hint: string, rule: Rule): Rule =>
  (v) =>
    v === undefined || v === "" ? `required (${hint})` : rule(v);

export const optional =
  (rule: Rule): Rule =>
  (v) =>
    v === undefined ? undefined : rule(v);

export const boolean: Rule = (v) =>
  typeof v === "boolean" ? undefined : `${describeValue(v)} must be true or false`;

export const oneOf =
  (allowed: readonly string[]): Rule =>
  (v) =>
    typeof v === "string" && allowed.includes(v)
      ? undefined
      : `${describeValue(v)} is not supported (allowed: ${allowed.join(", ")})`;

export const integerAtLeast =
  (min: number): Rule =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min ? undefined : `${describeValue(v)} must be an integer ≥ ${min}`;

export const port: Rule = (v) =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535
    ? undefined
    : `${describeValue(v)} is not a port (allowed: an integer 0-65535)`;

export const duration: Rule = (v) =>
  typeof v === "string" && parseDuration(v) !== undefined
    ? undefined
    : `${describeValue(v)} is not a duration (examples: ${DURATION_EXAMPLES})`;

/** A duration greater than zero. */
export const positiveDuration: Rule = (v) =>
  duration(v) ?? (parseDuration(v as string) === 0 ? `${describeValue(v)} must be longer than 0s` : undefined);

export const stringList =
  (item: Rule = nonEmptyString): Rule =>
  (v) => {
    if (!Array.isArray(v)) return `${describeValue(v)} must be an array of strings`;
    const bad = v.map((x, i) => [i, item(x)] as const).filter(([, p]) => p !== undefined);
    return bad.length === 0 ? undefined : bad.map(([i, p]) => `[${i}]: ${p}`).join("\n");
  };

/** A URL whose protocol is one of `protocols` ("http:", "https:"). */
export const url =
  (protocols: readonly string[], what: string, example: string): Rule =>
  (v) => {
    const problem = `${describeValue(v)} is not ${what} (example: ${example})`;
    if (typeof v !== "string") return problem;
    try {
      return protocols.includes(new URL(v).protocol) ? undefined : problem;
    } catch {
      return problem;
    }
  };

export const httpUrl = url(["http:", "https:"], "an http(s) URL", "https://events.example.com/hook");

export const redisUrl = url(["redis:", "rediss:"], "a Redis URL", "redis://127.0.0.1:6379");

/** NATS server list as nats.js accepts it: one URL or a comma-separated list. */
export const natsServers: Rule = (v) => {
  const problem = `${describeValue(v)} is not a NATS address (allowed: nats://host:port, tls://host:port, or a comma-separated list of them)`;
  if (typeof v !== "string") return problem;
  const rule = url(["nats:", "tls:"], "", "");
  return v.split(",").every((part) => rule(part.trim()) === undefined) ? undefined : problem;
};
