/** Rows of RSS figures: one "at idle" and one "under load (max)" per process, beside its baseline. */
import { pairedRatios, summarize } from "./stats.js";
import type { Row } from "./table.js";

export interface Sample {
  idle: number[];
  load: number[];
}
export const sample = (): Sample => ({ idle: [], load: [] });

export function memoryRows(label: string, berth: Sample, haveBerth: boolean, base: Sample | undefined, notes: string[]): Row[] {
  return (["idle", "load"] as const).map((phase) => ({
    case: `RSS ${phase === "idle" ? "at idle" : "under load (max)"}: ${label}`,
    unit: "MB",
    ...(haveBerth ? { berth: summarize(berth[phase]) } : {}),
    ...(base ? { baseline: summarize(base[phase]) } : {}),
    ...(haveBerth && base ? { ratio: summarize(pairedRatios(berth[phase], base[phase])) } : {}),
    ...(notes.length ? { note: notes.join("; "), missingPart: !haveBerth } : {}),
  }));
}
