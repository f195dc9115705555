/**
 * A resolved SinkConfig for tests, as @berth/config would produce it. Defaults are chosen so a
 * test runs fast and only trips what it means to trip: short retry delays, and a breaker that
 * never opens unless the test lowers its threshold.
 */
import { type BerthConfig, clusterSafePrefix, type RedisTopology, type SinkConfig } from "@berth/config";

const UNUSED_ADDRESS: Record<SinkConfig["type"], string> = {
  // Port 9 (discard) is closed on test machines: nothing is delivered unless a test overrides it.
  http: "http://127.0.0.1:9/",
  nats: "nats://127.0.0.1:9",
};

export function testSinkConfig(overrides: Partial<SinkConfig> & Pick<SinkConfig, "type">): SinkConfig {
  return {
    name: "test-sink",
    address: UNUSED_ADDRESS[overrides.type],
    timeoutMs: 2_000,
    credentials: {},
    headers: {},
    events: [],
    repositories: [],
    retry: { attempts: 3, delayMs: 20, maxDelayMs: 50 },
    mode: "binary",
    jetstream: false,
    concurrency: 1,
    breaker: { threshold: 1_000_000, cooldownMs: 60_000 },
    ordering: "none",
    ...overrides,
  };
}

/** `BerthConfig.queue` as @berth/config resolves it: a URL is one server; a Cluster's prefix gets a hash tag. */
export function testQueueConfig(redis: string | RedisTopology, prefix: string, minReplicas = 0): BerthConfig["queue"] {
  const topology: RedisTopology = typeof redis === "string" ? { kind: "standalone", url: redis } : redis;
  // A WAIT bound that a busy test machine meets: a shortfall here should mean a replica is down.
  return { redis: topology, prefix: clusterSafePrefix(prefix, topology), durability: { minReplicas, timeoutMs: 1_000 } };
}
