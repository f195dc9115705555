/** A NATS subscriber on the bench subject; records the `id` of each structured CloudEvent. */
import { connect } from "@nats-io/transport-node";
import type { Receiver } from "./arrival-log.js";

export async function startNatsReceiver(url: string, subject: string): Promise<Receiver> {
  const nc = await connect({ servers: url, name: "berth-bench-receiver" });
  const receiver: Receiver = {
    log: undefined,
    async close() {
      await nc.drain();
    },
  };
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        receiver.log?.record((msg.json() as { id?: string }).id);
      } catch {
        // not a JSON event: not ours
      }
    },
  });
  await nc.flush();
  return receiver;
}
