import type { SinkConfig } from "@berth/config";

/** A resolved nats SinkConfig as the config layer would hand it over, with test overrides. */
export function natsSinkConfig(overrides: Partial<SinkConfig> & { address: string; channel: string }): SinkConfig {
  return {
    name: "nats-test",
    type: "nats",
    timeoutMs: 5_000,
    credentials: {},
    headers: {},
    events: [],
    repositories: [],
    retry: { attempts: 3, delayMs: 100, maxDelayMs: 1_000 },
    mode: "structured",
    jetstream: false,
    concurrency: 4,
    breaker: { threshold: 100, cooldownMs: 1_000 },
    ...overrides,
  };
}
