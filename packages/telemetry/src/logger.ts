import { type Logger as PinoLogger, pino } from "pino";

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: string;
  /** File path; stdout when absent. */
  output?: string;
  name: string;
}

/** Structured JSON logs; secrets are redacted by key wherever they appear in a log object. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.output
    ? pino.destination({ dest: options.output, mkdir: true, sync: false })
    : pino.destination({ fd: 1, sync: false });
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid, app: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "password",
          "token",
          "secret",
          "*.password",
          "*.token",
          "*.secret",
          "*.authorization",
          "*.headers.authorization",
          "credentials",
          "*.credentials",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** A logger that writes nothing: for tests and libraries used without a logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
