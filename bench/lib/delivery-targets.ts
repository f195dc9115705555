/** The receiving ends of delivery cases: a local 204 webhook, a NATS subject, a JetStream stream. */
import { uniqueName } from "@berth/testing";
import type { DeliveryKind, DeliveryTarget } from "./delivery-run.js";
import { type HttpReceiverOptions, startHttpReceiver } from "./http-receiver.js";
import { createStream } from "./jetstream-stream.js";
import { startNatsReceiver } from "./nats-receiver.js";

export interface OpenTarget extends DeliveryTarget {
  close(): Promise<void>;
}

export async function openTarget(kind: DeliveryKind, natsUrl: string, http: HttpReceiverOptions = {}): Promise<OpenTarget> {
  if (kind === "http") {
    const receiver = await startHttpReceiver(http);
    return { kind, receiver, address: receiver.url, close: () => receiver.close() };
  }
  const subject = `berth.bench.${uniqueName(kind).replaceAll("-", "_")}`;
  const receiver = await startNatsReceiver(natsUrl, subject);
  const stream = kind === "jetstream" ? await createStream(natsUrl, uniqueName("BERTH_BENCH").replaceAll("-", "_"), subject) : undefined;
  return {
    kind,
    receiver,
    address: natsUrl,
    subject,
    async close() {
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
