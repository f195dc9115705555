import type { BerthConfig, SinkConfig } from "@berth/config";
import { UnknownSinkError } from "./errors.js";

/** The configured sinks, whatever `events.enable` says: an operator may drain a disabled setup. */
export function configuredSinks(config: BerthConfig): SinkConfig[] {
  return config.extensions.events.sinks;
}

export function findSink(config: BerthConfig, name: string): SinkConfig {
  const sinks = configuredSinks(config);
  const sink = sinks.find((s) => s.name === name);
  if (!sink) throw new UnknownSinkError(name, sinks.map((s) => s.name));
  return sink;
}
