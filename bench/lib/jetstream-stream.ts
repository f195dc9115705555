/** A JetStream stream for the bench subject, created for a case and deleted after it. */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

export interface BenchStream {
  name: string;
  delete(): Promise<void>;
}

export async function createStream(natsUrl: string, name: string, subject: string): Promise<BenchStream> {
  const nc = await connect({ servers: natsUrl, name: "berth-bench-stream-admin" });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [subject] });
  return {
    name,
    async delete() {
      try {
        await jsm.streams.delete(name);
      } finally {
        await nc.close();
      }
    },
  };
}
