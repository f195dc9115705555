import type { SinkConfig } from "@berth/config";
import { type Sink, TransientDeliveryError } from "@berth/delivery";
import { NatsConnector } from "./nats-connection.js";
import type { PublishContext } from "./nats-error-classifier.js";
import { buildFittingNatsMessage } from "./nats-message.js";
import { publishCore, publishJetStream } from "./nats-publish.js";

export interface NatsSinkOptions {
  /** Client name shown by the server; defaults to `berth-<sink name>`. */
  connectionName?: string;
}

/** A NATS sink was configured without what it needs (the config layer normally catches this). */
export class NatsSinkConfigError extends Error {
  override readonly name = "NatsSinkConfigError";
}

/**
 * A sink that publishes each event to the sink's `channel` subject over one lazily opened
 * connection. Delivery is confirmed: a flush round trip in core mode, the PubAck with
 * `jetstream: true`.
 */
export function createNatsSink(sink: SinkConfig, options: NatsSinkOptions = {}): Sink {
  const subject = sink.channel;
  if (!subject) throw new NatsSinkConfigError(`nats sink "${sink.name}" needs a channel (the subject to publish to)`);
  if (sink.type !== "nats") throw new NatsSinkConfigError(`sink "${sink.name}" is of type ${sink.type}, not nats`);
  const connector = new NatsConnector(sink, options.connectionName ? { connectionName: options.connectionName } : {});
  const ctx: PublishContext = { sink: sink.name, subject, servers: connector.servers };
  const publish = sink.jetstream ? publishJetStream : publishCore;
  const aborted = () =>
    connector.disconnected
      ? new TransientDeliveryError("unreachable", `sink "${sink.name}": NATS ${ctx.servers} unreachable (reconnecting)`)
      : new TransientDeliveryError("timeout", `sink "${sink.name}": no confirmation from NATS ${ctx.servers} in time`);

  return {
    name: sink.name,
    async deliver(event, options) {
      // The sink's own timeout bounds every attempt too, whatever signal the caller passes; a
      // signal already bounded by it (the delivery runtime's) is used as is: no second timer per event.
      const bounded = options.signalTimeoutMs !== undefined && options.signalTimeoutMs <= sink.timeoutMs;
      const signal = bounded ? options.signal : AbortSignal.any([options.signal, AbortSignal.timeout(sink.timeoutMs)]);
      if (signal.aborted) throw aborted();
      const nc = await connector.connection(signal);
      // The server's limit is known once connected (INFO); it may differ after a reconnect.
      const maxPayload = nc.info?.max_payload;
      const { message, thinned } = buildFittingNatsMessage(event, sink, maxPayload);
      // Nothing in a publish can be cancelled: listening for the abort only returns early, which a
      // caller that settles on abort (the delivery runtime) does itself.
      const listen = !(bounded && options.callerSettlesOnAbort === true);
      const receipt = await publish({ nc, message, ctx, eventId: event.id, signal: listen ? signal : undefined, timeoutMs: sink.timeoutMs, aborted });
      return thinned ? { ...receipt, detail: `${receipt.detail}; manifest left out (event over the server's max_payload of ${maxPayload} bytes)` } : receipt;
    },
    close: () => connector.close(),
  };
}
