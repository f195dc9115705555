/** What every case module exports, and what the runner hands it. */
import type { AppMode } from "./spawn-app.js";
import type { Row } from "./table.js";

export interface BenchContext {
  /** Fewer repetitions and smaller sizes, for developing the bench. */
  quick: boolean;
  reps: number;
  mode: AppMode;
  redisUrl: string;
  natsUrl: string;
}

export interface BenchCase {
  /** Name used by `--only`. */
  id: string;
  title: string;
  /** How the case measures, and against what: printed under the table. */
  method: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** Alternates which side goes first in each repetition, so neither always gets the warmer machine. */
export async function interleaved(rep: number, berth: () => Promise<void>, baseline: () => Promise<void>): Promise<void> {
  if (rep % 2 === 0) {
    await berth();
    await baseline();
  } else {
    await baseline();
    await berth();
  }
}
