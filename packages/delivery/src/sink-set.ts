/**
 * The sinks one worker process delivers to, changeable while it runs (hot reload). Each sink has
 * its runner (BullMQ Worker, breaker, recovery) and its deliverer. `apply(sinks)`:
 * - a new sink gets a runner: its queue is served from now on;
 * - a removed sink's runner stops taking jobs and finishes its in-flight attempts; its queued
 *   events stay in Redis (and visible to `berth sink status` and the dashboard) until it comes
 *   back or an operator acts;
 * - a changed sink (address, credentials, anything) is stopped the same way and started again
 *   with the new settings, so the next attempt uses them.
 * Sinks are matched by name (their queue); applies never overlap.
 */
import type { SinkConfig } from "@berth/config";
import type { Sink } from "./sink.js";
import type { SinkRunner } from "./sink-runner.js";

export type RunnerFactory = (sink: SinkConfig, deliverer: Sink) => SinkRunner;

interface Entry {
  sink: SinkConfig;
  fingerprint: string;
  runner: SinkRunner;
  deliverer: Sink;
}

export interface SinkSetChange {
  added: string[];
  removed: string[];
  changed: string[];
}

export class SinkSet {
  private readonly entries = new Map<string, Entry>();
  private applying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly createSink: (sink: SinkConfig) => Sink,
    private readonly createRunner: RunnerFactory,
  ) {}

  get sinks(): SinkConfig[] {
    return [...this.entries.values()].map((e) => e.sink);
  }

  get runners(): SinkRunner[] {
    return [...this.entries.values()].map((e) => e.runner);
  }

  get deliverers(): Sink[] {
    return [...this.entries.values()].map((e) => e.deliverer);
  }

  /** Resolves once no apply is in progress. */
  idle(): Promise<unknown> {
    return this.applying;
  }

  apply(sinks: readonly SinkConfig[]): Promise<SinkSetChange> {
    const run = this.applying.then(() => this.applyNow(sinks));
    this.applying = run.catch(() => {});
    return run;
  }

  private async applyNow(sinks: readonly SinkConfig[]): Promise<SinkSetChange> {
    const next = new Map(sinks.map((s) => [s.name, s]));
    const change: SinkSetChange = { added: [], removed: [], changed: [] };
    const stopping: Entry[] = [];
    for (const [name, entry] of this.entries) {
      const wanted = next.get(name);
      if (wanted === undefined) change.removed.push(name);
      else if (JSON.stringify(wanted) !== entry.fingerprint) change.changed.push(name);
      else continue;
      stopping.push(entry);
      this.entries.delete(name);
    }
    // Stopped before their replacements start, so one queue never has two runners here.
    await Promise.all(stopping.map((e) => stopEntry(e)));
    for (const sink of sinks) {
      if (this.entries.has(sink.name)) continue;
      if (!change.changed.includes(sink.name)) change.added.push(sink.name);
      this.start(sink);
    }
    return change;
  }

  private start(sink: SinkConfig): void {
    const deliverer = this.createSink(sink);
    const runner = this.createRunner(sink, deliverer);
    this.entries.set(sink.name, { sink, fingerprint: JSON.stringify(sink), runner, deliverer });
    runner.start();
  }
}

/** A runner taken out of service: in-flight attempts finish, then its handles close. */
async function stopEntry(entry: Entry): Promise<void> {
  await entry.runner.stopWorker();
  await entry.runner.closeQueues();
  await entry.deliverer.close();
}
