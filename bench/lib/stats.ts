/** Summaries of repeated measurements: the table prints median and min–max of each. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export function median(values: readonly number[]): number {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return { median: median(s), min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN, n: s.length };
}

/**
 * Ratio of paired repetitions (berth[i] / baseline[i]): the two ran back to back, so each pair
 * shares the machine's noise of that moment.
 */
export function pairedRatios(berth: readonly number[], baseline: readonly number[]): number[] {
  const n = Math.min(berth.length, baseline.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(berth[i]! / baseline[i]!);
  return out;
}
