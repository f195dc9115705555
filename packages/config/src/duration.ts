/**
 * Durations as zot writes them (Go's `time.ParseDuration` spellings without the sub-millisecond
 * units): one or more `<number><unit>` parts, unit one of ms, s, m, h — "500ms", "1s", "1m30s".
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export const DURATION_EXAMPLES = "500ms, 1s, 10s";

/** Milliseconds, or undefined when `text` is not a duration. Fractions round to whole ms. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** The shortest exact spelling: 30000 -> "30s", 90000 -> "1m30s", 1500 -> "1s500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const [unit, size] of [
    ["h", UNIT_MS.h],
    ["m", UNIT_MS.m],
    ["s", UNIT_MS.s],
    ["ms", UNIT_MS.ms],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
