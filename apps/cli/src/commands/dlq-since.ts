import { UsageError } from "./sink-cli-io.js";

const RELATIVE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `--since TIME`: an RFC 3339 / ISO 8601 time (`2024-05-01T10:00:00Z`, `2024-05-01`) or an age
 * counted back from now (`90s`, `30m`, `2h`, `7d`).
 */
export function parseSince(text: string, now: Date): Date {
  const rel = RELATIVE.exec(text);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--since ${JSON.stringify(text)}: expected a time like 2024-05-01T10:00:00Z or an age like 30m, 2h, 7d`);
  }
  return new Date(ms);
}
