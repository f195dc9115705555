/**
 * Every default, named, so docs and tests refer to the value instead of repeating it.
 */
import { DEFAULT_EVENT_SOURCE, DEFAULT_TYPE_PREFIX } from "@berth/events";
import type { BreakerSettings, HttpLimits, LogLevel, RegistryAuthSettings, RetrySettings } from "./types.js";

export { DEFAULT_EVENT_SOURCE, DEFAULT_TYPE_PREFIX };

export const DEFAULT_DIST_SPEC_VERSION = "1.1.1";
export const DEFAULT_HTTP_ADDRESS = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 5000;
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/**
 * The registry's defences against slow and hostile clients (README "Hardening"). A header must
 * arrive within 20 s; a keep-alive connection may idle 30 s between requests; a request body
 * must move at least 1 KiB/s averaged over each 30 s window (a push over a 10 kbit/s link
 * survives, a stalled body is cut within 30–40 s); a response the client stops reading for 60 s
 * (a download nobody reads) closes its connection.
 */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  headerTimeoutMs: 20_000,
  idleTimeoutMs: 30_000,
  bodyMinBytesPerSecond: 1024,
  bodyRateWindowMs: 30_000,
  stallTimeoutMs: 60_000,
  maxInFlight: 4096,
  // One maximum-size (4 MiB) manifest at a time, ordinary ones (a few KiB) by the thousand. A
  // 4 MiB PUT with events on allocates ~40 MiB that the GC reclaims late: 50 concurrent ones
  // peaked at 1,027 MB unbudgeted, 559 MB with 32 MiB, 335 MB with 8 MiB, 284 MB with 4 MiB.
  maxBufferedBodyBytes: 4 * 2 ** 20,
});
/** Below this, `/healthz` reports the storage disk as low (503, `disk.low: true`). */
export const DEFAULT_MIN_FREE_BYTES = 2 ** 30;
/**
 * Garbage collection, as zot spells it. Off unless `storage.gc` is set (zot's default is on): a
 * registry that deleted nothing before an upgrade must not start deleting on its own.
 */
export const DEFAULT_GC = Object.freeze({ enable: false, delayMs: 3_600_000, intervalMs: 3_600_000 });
/** Upload sessions untouched this long are removed (Distribution's `uploadpurging.age`: 168h). */
export const DEFAULT_UPLOAD_MAX_AGE_MS = 168 * 3_600_000;

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_QUEUE_PREFIX = "berth";
export const DEFAULT_SENTINEL_PORT = 26379;
export const DEFAULT_REDIS_PORT = 6379;
/** 0: the master's write is enough, as before replicas were considered. */
export const DEFAULT_MIN_REPLICAS = 0;
/** One WAIT's bound: a push waits at most this long for replicas before journaling. */
export const DEFAULT_DURABILITY_TIMEOUT_MS = 250;

/** bcrypt is CPU-bound: two threads keep checks moving without taking every core. */
export const DEFAULT_BCRYPT_WORKERS = 2;
/** Enough for a human's typos and a misconfigured client's retries; too few for guessing. */
export const DEFAULT_FAILED_ATTEMPTS = Object.freeze({ limit: 10, windowMs: 60_000 });
/** `http.auth` without htpasswd (anonymous access), every other key at its default. */
export const DEFAULT_REGISTRY_AUTH: Readonly<RegistryAuthSettings> = Object.freeze({
  bcryptWorkers: DEFAULT_BCRYPT_WORKERS,
  failedAttempts: DEFAULT_FAILED_ATTEMPTS,
});

export const DEFAULT_DASHBOARD_ADDRESS = "127.0.0.1";
export const DEFAULT_DASHBOARD_PORT = 3000;
export const DEFAULT_WORKER_ADDRESS = "127.0.0.1";
export const DEFAULT_WORKER_HTTP_PORT = 9101;
export const DEFAULT_WORKER_NATS_PORT = 9102;

/** zot's default for HTTP sinks ("omitted or non-positive" means 30s). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** A NATS publish (or JetStream ack) is fast or the server is unwell. */
export const DEFAULT_NATS_TIMEOUT_MS = 5_000;

/**
 * Rides out a sink outage of more than 24 hours before an event is dead-lettered.
 * Backoff is exponential with full jitter: wait n is uniform in [0, min(maxDelay, delay·2^(n-1))].
 * Waits 1-12 are capped at 1s…2048s (sum of caps 4095s); waits 13-79 are capped at 1h.
 * Expected total ≈ 4095/2 + 67·1800 ≈ 122,600s ≈ 34h; the caps sum to ≈ 68h. The 67 capped waits
 * have a standard deviation of ≈ 2.4h, so falling under 24h is a > 4σ event.
 */
export const DEFAULT_RETRY: Readonly<RetrySettings> = Object.freeze({
  attempts: 80,
  delayMs: 1_000,
  maxDelayMs: 3_600_000,
});

export const DEFAULT_CONCURRENCY = 16;

export const DEFAULT_BREAKER: Readonly<BreakerSettings> = Object.freeze({
  threshold: 10,
  cooldownMs: 30_000,
});

/** Binary mode puts CloudEvent attributes into `ce-*` headers: what zot's HTTP sink sends. */
export const DEFAULT_HTTP_MODE = "binary" as const;
/** zot publishes the whole CloudEvent as the NATS message body. */
export const DEFAULT_NATS_MODE = "structured" as const;

/** Sink names also name queues and env variables: short, lowercase, no dots or colons. */
export const SINK_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The event log (`berth events list/replay`): a day of events, at most 100,000 (≈ 100–200 MB of Redis for typical events). */
export const DEFAULT_EVENT_LOG_MAX_AGE = "24h";
export const DEFAULT_EVENT_LOG_MAX_EVENTS = 100_000;
/**
 * Manifests larger than this stay out of the event log (`manifestomitted: size`): typical
 * manifests (a few KiB) are kept, a hostile or huge one costs Redis no extra copy; replay to a
 * sink that takes manifests puts it back from storage.
 */
export const DEFAULT_EVENT_LOG_MAX_MANIFEST_BYTES = 256 * 1024;
