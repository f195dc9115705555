/**
 * A JetStream stream the test owns: created before the NATS sink publishes to its subject, read
 * back in full at the end (an ordered consumer), deleted on cleanup. The stream's duplicate window
 * dedupes by `Nats-Msg-Id` (= the event id), so what it holds is what was delivered, once.
 * https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

export interface StoredMessage {
  seq: number;
  msgId: string | undefined;
  event: { id: string; type: string; data: Record<string, unknown> };
}

/** Creates `stream` on `subject` with a duplicate window long enough for the whole test. */
export async function createStream(url: string, stream: string, subject: string, duplicateWindowMs: number): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: duplicateWindowMs * 1_000_000 });
  } finally {
    await nc.close();
  }
}

/** Every message of the stream, in stream order. */
export async function readStream(url: string, stream: string): Promise<StoredMessage[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const consumer = await jetstream(nc).consumers.get(stream);
    const out: StoredMessage[] = [];
    // Bounded: each fetch returns what is there within `expires`; give up after a few empty rounds.
    for (let empty = 0; out.length < total && empty < 5; ) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 2_000 });
      const before = out.length;
      for await (const m of batch) {
        out.push({ seq: m.seq, msgId: m.headers?.get("Nats-Msg-Id"), event: m.json() });
      }
      empty = out.length === before ? empty + 1 : 0;
    }
    return out;
  } finally {
    await nc.close();
  }
}

export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream);
  } finally {
    await nc.close();
  }
}
