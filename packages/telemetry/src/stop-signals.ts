/**
 * SIGTERM / SIGINT for a process's whole life. Installed first thing in `main()`, so a signal that
 * arrives during start-up is held instead of killing the process by default (the local stack
 * reported "exited (SIGTERM)" for exactly that), and runs the shutdown once start-up is done.
 * Later signals are absorbed: Ctrl-C reaches every process of a terminal's process group and the
 * stack script then sends SIGTERM too, and neither may interrupt the shutdown already running.
 */
export type StopHandler = (signal: NodeJS.Signals) => Promise<void> | void;

/** A start-up still running this long after a stop signal is not waited for any longer. */
export const STARTUP_STOP_WAIT_MS = 15_000;

export interface StopSignals {
  /** The shutdown to run; runs at once if a signal already came. */
  onStop(handler: StopHandler): void;
  /** The first signal received, if any. */
  readonly requested: NodeJS.Signals | undefined;
}

export function catchStopSignals(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): StopSignals {
  let handler: StopHandler | undefined;
  let requested: NodeJS.Signals | undefined;
  let started = false;
  let startupWait: NodeJS.Timeout | undefined;
  const fire = () => {
    if (started || handler === undefined || requested === undefined) return;
    started = true;
    clearTimeout(startupWait);
    void handler(requested);
  };
  for (const signal of signals) {
    process.on(signal, (s: NodeJS.Signals) => {
      if (requested === undefined && handler === undefined) {
        // Stuck start-up (say, a dependency that never answers): exit rather than ignore the signal.
        startupWait = setTimeout(() => {
          process.stderr.write(`stopped by ${s} during a start-up that did not finish within ${STARTUP_STOP_WAIT_MS} ms\n`);
          process.exit(1);
        }, STARTUP_STOP_WAIT_MS).unref();
      }
      requested ??= s;
      fire();
    });
  }
  return {
    onStop(h) {
      handler = h;
      fire();
    },
    get requested() {
      return requested;
    },
  };
}
