/** The HTTP sink's harness for the shared delivery contract (@berth/delivery-contract). */
import type { SinkConfig } from "@berth/config";
import { type DeliveryRuntime, startDeliveryRuntime } from "@berth/delivery";
import { type DestinationMode, type SinkHarness, configWithSink } from "@berth/delivery-contract";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, testSinkConfig } from "@berth/testing";
import { createHttpSink } from "../http-sink.js";
import { type Answer, startReceiver } from "./receiver.js";

export function httpSinkConfig(address: string, overrides: Partial<SinkConfig> = {}): SinkConfig {
  return testSinkConfig({
    name: "webhook",
    type: "http",
    address,
    timeoutMs: 5_000,
    retry: { attempts: 5, delayMs: 50, maxDelayMs: 500 },
    concurrency: 16,
    breaker: { threshold: 1_000, cooldownMs: 1_000 },
    ...overrides,
  });
}

const ANSWERS: Record<DestinationMode, Answer> = {
  healthy: { status: 204 },
  transient: { status: 503 },
  permanent: { status: 400 },
  hang: { hang: true },
  slow: { status: 204, delayMs: 150 },
};

export async function startHttpHarness(): Promise<SinkHarness> {
  const receiver = await startReceiver();
  let mode: DestinationMode = "healthy";
  const accepted: string[] = [];
  receiver.answer = (req) => {
    const answer = ANSWERS[mode];
    const id = req.headers["ce-id"];
    if (!("hang" in answer) && answer.status < 300 && typeof id === "string") {
      // Recorded when answered: an accepted delivery is one the sender saw succeed.
      if (answer.delayMs) setTimeout(() => accepted.push(id), answer.delayMs);
      else accepted.push(id);
    }
    return answer;
  };
  return {
    modes: ["healthy", "transient", "permanent", "hang", "slow"],
    sinkConfig: (overrides) => httpSinkConfig(receiver.url, overrides),
    rawSinkConfig: () => ({ type: "http", address: receiver.url }),
    createSink: createHttpSink,
    setMode(next) {
      mode = next;
    },
    received: async () => [...accepted],
    close: () => receiver.close(),
  };
}

/** A delivery runtime for one HTTP sink on the shared Redis under `prefix`, as worker-http runs it. */
export function startHttpRuntime(sink: SinkConfig, prefix: string): Promise<DeliveryRuntime> {
  return startDeliveryRuntime({
    config: configWithSink(sink, SHARED_REDIS_URL, prefix),
    sinkType: "http",
    createSink: createHttpSink,
    logger: silentLogger(),
    metrics: createMetricsRegistry("test"),
  });
}
