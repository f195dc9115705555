import { type DeliveryReceipt, TransientDeliveryError } from "@berth/delivery";
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { untilAborted } from "./abortable.js";
import { isNoStream, type PublishContext, publishFailure } from "./nats-error-classifier.js";
import type { NatsMessage } from "./nats-message.js";

export interface PublishRequest {
  nc: NatsConnection;
  message: NatsMessage;
  ctx: PublishContext;
  eventId: string;
  /** Undefined when the caller settles the attempt on abort itself (nothing to listen for here). */
  signal: AbortSignal | undefined;
  /** Ack wait of a JetStream publish (the signal bounds it as well). */
  timeoutMs: number;
  /** Builds the error for an aborted attempt (the link state decides timeout vs unreachable). */
  aborted: () => TransientDeliveryError;
}

/**
 * Core NATS: the publish is only written to the socket buffer; the flush is a PING/PONG round
 * trip, and the server answers in order, so a PONG proves the server has processed the message.
 */
export async function publishCore(req: PublishRequest): Promise<DeliveryReceipt> {
  const { nc, message, ctx, signal } = req;
  try {
    nc.publish(ctx.subject, message.payload, message.headers ? { headers: message.headers } : undefined);
    await (signal ? untilAborted(nc.flush(), signal, req.aborted) : nc.flush());
  } catch (err) {
    throw publishFailure(err, ctx);
  }
  return { detail: `nats ${ctx.subject} flushed` };
}

const clients = new WeakMap<NatsConnection, JetStreamClient>();

/**
 * JetStream: delivered only once the stream's PubAck arrives. The event id is the message id,
 * so a redelivery within the stream's duplicate window is stored once (the ack says duplicate).
 */
export async function publishJetStream(req: PublishRequest): Promise<DeliveryReceipt> {
  const { nc, message, ctx, signal } = req;
  let js = clients.get(nc);
  if (!js) {
    js = jetstream(nc);
    clients.set(nc, js);
  }
  try {
    const published = js.publish(ctx.subject, message.payload, {
      // Sent as the Nats-Msg-Id header: the stream's de-duplication key (ADR-31).
      msgID: req.eventId,
      timeout: req.timeoutMs,
      ...(message.headers ? { headers: message.headers } : {}),
    });
    const ack = await (signal ? untilAborted(published, signal, req.aborted) : published);
    return { detail: `jetstream ${ack.stream} seq ${ack.seq}${ack.duplicate ? " duplicate" : ""}` };
  } catch (err) {
    if (isNoStream(err) && (await streamCaptures(req))) {
      // A stream exists but did not answer (e.g. still recovering after a restart): retry.
      throw new TransientDeliveryError("stream_unavailable", `sink "${ctx.sink}": the stream for "${ctx.subject}" did not answer`, {
        cause: err,
      });
    }
    throw publishFailure(err, ctx);
  }
}

/** Asks the JetStream API whether any stream captures the subject; "no" when JetStream is off. */
async function streamCaptures(req: PublishRequest): Promise<boolean> {
  try {
    const jsm = await jetstreamManager(req.nc, { checkAPI: false, timeout: req.timeoutMs });
    const lookup = (async () => {
      for await (const _name of jsm.streams.names(req.ctx.subject)) return true;
      return false;
    })();
    return await (req.signal ? untilAborted(lookup, req.signal, req.aborted) : lookup);
  } catch (err) {
    if (isNoStream(err)) return false;
    throw publishFailure(err, req.ctx);
  }
}
