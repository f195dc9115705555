import type { SinkConfig } from "@berth/config";
import { PermanentDeliveryError, type Sink, TransientDeliveryError } from "@berth/delivery";
import { type BerthEvent, type EventFactory, createEventFactory } from "@berth/events";
import { maskText, sinkSecrets } from "./request-masking.js";

/** What the delivery worker would do with the outcome of one attempt. */
export type DeliveryVerdict =
  | { verdict: "delivered"; detail: string }
  | { verdict: "would-retry"; reason: string; message: string; retryAfterMs?: number }
  | { verdict: "permanent"; reason: string; message: string; pausesSink: boolean };

/** The sample event `berth sink test` sends: an image update of `berth/sink-test:latest`. */
export function sinkTestEvent(config: { source: string; typePrefix: string }, factory?: EventFactory): BerthEvent {
  const f = factory ?? createEventFactory({ source: config.source, typePrefix: config.typePrefix });
  return f.build("image.updated", {
    name: "berth/sink-test",
    reference: "latest",
    digest: `sha256:${"0".repeat(64)}`,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  });
}

/**
 * Classifies like the worker does — by error class, never by message: transient errors and
 * unknown errors are retried, `PermanentDeliveryError` dead-letters. Messages are masked.
 */
export function verdictOf(err: unknown, sink: SinkConfig): DeliveryVerdict {
  const secrets = sinkSecrets(sink);
  const message = maskText(err instanceof Error ? err.message : String(err), secrets);
  if (err instanceof PermanentDeliveryError) {
    return { verdict: "permanent", reason: err.reason, message, pausesSink: err.pauseSink };
  }
  if (err instanceof TransientDeliveryError) {
    const v: DeliveryVerdict = { verdict: "would-retry", reason: err.reason, message };
    if (err.retryAfterMs !== undefined) v.retryAfterMs = err.retryAfterMs;
    return v;
  }
  return { verdict: "would-retry", reason: "unclassified", message };
}

/** One real attempt through `target`, bounded by the sink's timeout as the worker bounds it. */
export async function attemptDelivery(target: Sink, event: BerthEvent, sink: SinkConfig): Promise<DeliveryVerdict> {
  try {
    const receipt = await target.deliver(event, { signal: AbortSignal.timeout(sink.timeoutMs), attempt: 1 });
    return { verdict: "delivered", detail: maskText(receipt.detail, sinkSecrets(sink)) };
  } catch (err) {
    return verdictOf(err, sink);
  }
}
