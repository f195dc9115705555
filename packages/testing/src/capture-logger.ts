import { type Logger, pino } from "pino";

export interface CapturedLog {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose JSON lines are kept in memory, so a test can assert on warnings. */
export function captureLogger(): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as CapturedLog);
      },
    },
  );
  return { logger, lines };
}
