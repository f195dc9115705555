import { connect } from "@nats-io/transport-node";
import type { ReceivedEvent } from "./event-line.js";

/** Reads structured CloudEvents JSON from a subject, as a consumer of zot's NATS events does. */
export async function subscribeNats(
  servers: string,
  subject: string,
  onEvent: (event: ReceivedEvent) => void,
): Promise<() => Promise<void>> {
  const nc = await connect({ servers: servers.split(","), name: "berth-demo-consumer", maxReconnectAttempts: -1 });
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const msg of sub) {
      try {
        const ev = msg.json<{ id: string; type: string; data: Record<string, unknown> }>();
        onEvent({ via: "nats", id: ev.id, type: ev.type, data: ev.data ?? {} });
      } catch {
        console.error(`nats: unreadable message on ${msg.subject}`);
      }
    }
  })();
  return () => nc.drain();
}
