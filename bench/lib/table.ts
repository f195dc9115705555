/**
 * The result table: one row per measured figure, Berth beside its baseline from the same run.
 * Goal verdicts are computed here from the measured medians; nothing is typed in by hand.
 */
import type { Summary } from "./stats.js";

export type Goal =
  /** Berth ÷ baseline must be at least `value` (higher is better). */
  | { kind: "ratio-at-least"; value: number }
  /** Berth ÷ baseline must be at most `value` (lower is better: latency, cost, bytes kept). */
  | { kind: "ratio-at-most"; value: number }
  /** Berth's own median must stay below `value` (e.g. a latency or memory budget). */
  | { kind: "berth-below"; value: number; unit: string };

export interface Row {
  case: string;
  unit: string;
  berth?: Summary;
  baseline?: Summary;
  ratio?: Summary;
  goal?: Goal;
  /** Why a cell is empty (baseline unavailable, part missing, case crashed). */
  note?: string;
  /** A Berth part this row needs is not in the tree: the run is incomplete and exits non-zero. */
  missingPart?: boolean;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return "—";
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cell(s: Summary | undefined, unit = ""): string {
  if (!s || s.n === 0) return "—";
  const u = unit ? ` ${unit}` : "";
  if (s.n === 1) return `${formatNumber(s.median)}${u}`;
  return `${formatNumber(s.median)}${u} (${formatNumber(s.min)}–${formatNumber(s.max)})`;
}

function ratioCell(s: Summary | undefined): string {
  if (!s || s.n === 0) return "—";
  if (s.n === 1) return `${s.median.toFixed(2)}×`;
  return `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
}

function goalCell(goal: Goal | undefined): string {
  if (!goal) return "—";
  if (goal.kind === "berth-below") return `< ${goal.value} ${goal.unit}`;
  const value = `${Number.isInteger(goal.value) ? goal.value.toFixed(1) : goal.value}×`;
  return goal.kind === "ratio-at-most" ? `≤ ${value}` : `≥ ${value}`;
}

/** ✔ / ✘ from the medians; "n/a" when the figure the goal needs was not measured. */
export function verdict(row: Row): string {
  const goal = row.goal;
  if (!goal) return "";
  if (goal.kind === "ratio-at-least" || goal.kind === "ratio-at-most") {
    if (!row.ratio || !Number.isFinite(row.ratio.median)) return "n/a";
    const met = goal.kind === "ratio-at-least" ? row.ratio.median >= goal.value : row.ratio.median <= goal.value;
    return met ? "✔" : "✘";
  }
  if (!row.berth || !Number.isFinite(row.berth.median)) return "n/a";
  return row.berth.median < goal.value ? "✔" : "✘";
}

function escapePipes(text: string): string {
  return text.replaceAll("|", "\\|");
}

export function renderTable(rows: readonly Row[]): string {
  const header = ["case", "Berth", "baseline", "ratio (median, min–max)", "goal", "met"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const label = row.note ? `${row.case} — *${row.note}*` : row.case;
    const cells = [
      label,
      cell(row.berth, row.unit),
      cell(row.baseline, row.unit),
      ratioCell(row.ratio),
      goalCell(row.goal),
      verdict(row),
    ];
    lines.push(`| ${cells.map(escapePipes).join(" | ")} |`);
  }
  return lines.join("\n");
}
