/** The receiving ends of delivery cases: a local 204 webhook, a NATS subject, a JetStream stream. */
import { startTcpRelay, uniqueName } from "@berth/testing";
import type { DeliveryKind, DeliveryTarget } from "./delivery-run.js";
import { type HttpReceiverOptions, startHttpReceiver } from "./http-receiver.js";
import { createStream } from "./jetstream-stream.js";
import { startNatsReceiver } from "./nats-receiver.js";

export interface OpenTarget extends DeliveryTarget {
  close(): Promise<void>;
}

/**
 * `delayMs` makes the target I/O-bound: the webhook answers after a uniform delay in [min, max];
 * a NATS target is reached by the workers through a relay that holds each chunk half of it each
 * way, in order, so each publish (and JetStream ack) round trip takes [min, max] ms longer, as with
 * a server in another zone. The receiver and the stream's admin connection go straight to the
 * server. Because a chunk waits for the one before it, a busy connection's delay drifts toward
 * `max` (measured: one worker-nats process at 4 in flight completes ~80 publishes/s, ~50 ms each).
 */
export async function openTarget(kind: DeliveryKind, natsUrl: string, options: HttpReceiverOptions = {}): Promise<OpenTarget> {
  if (kind === "http") {
    const receiver = await startHttpReceiver(options);
    return { kind, receiver, address: receiver.url, close: () => receiver.close() };
  }
  const subject = `berth.bench.${uniqueName(kind).replaceAll("-", "_")}`;
  const receiver = await startNatsReceiver(natsUrl, subject);
  const stream = kind === "jetstream" ? await createStream(natsUrl, uniqueName("BERTH_BENCH").replaceAll("-", "_"), subject) : undefined;
  const [min, max] = options.delayMs ?? [0, 0];
  const relay = max > 0 ? await startTcpRelay(Number(new URL(natsUrl).port), { delayMs: () => (min + Math.random() * (max - min)) / 2 }) : undefined;
  return {
    kind,
    receiver,
    address: relay ? `nats://127.0.0.1:${relay.port}` : natsUrl,
    subject,
    async close() {
      await relay?.close();
      await receiver.close();
      await stream?.delete();
    },
  };
}

export const KIND_LABEL: Record<DeliveryKind, string> = {
  http: "HTTP sink",
  nats: "NATS core sink",
  jetstream: "NATS JetStream sink",
};

export const WORKER_APP: Record<DeliveryKind, "worker-http" | "worker-nats"> = {
  http: "worker-http",
  nats: "worker-nats",
  jetstream: "worker-nats",
};
