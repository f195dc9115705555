import type { SinkConfig } from "@berth/config";
import { testSinkConfig } from "@berth/testing";

/** A resolved nats SinkConfig as the config layer would hand it over, with test overrides. */
export function natsSinkConfig(overrides: Partial<SinkConfig> & { address: string; channel: string }): SinkConfig {
  return testSinkConfig({
    name: "nats-test",
    type: "nats",
    timeoutMs: 5_000,
    retry: { attempts: 3, delayMs: 100, maxDelayMs: 1_000 },
    mode: "structured",
    concurrency: 4,
    breaker: { threshold: 100, cooldownMs: 1_000 },
    ...overrides,
  });
}
