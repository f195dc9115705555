import { waitFor } from "@berth/testing";
import { connect, type Msg, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

/** A plain NATS subscriber on a subject, the way a consumer of zot's events listens. */
export interface TestSubscriber {
  readonly messages: Msg[];
  /** Waits until `count` messages arrived. */
  waitForCount(count: number): Promise<Msg[]>;
  close(): Promise<void>;
}

export async function subscribe(
  url: string,
  subject: string,
  options: Omit<NodeConnectionOptions, "servers"> = {},
): Promise<TestSubscriber> {
  const nc: NatsConnection = await connect({ ...options, servers: url });
  const messages: Msg[] = [];
  nc.subscribe(subject, { callback: (err, msg) => {
      if (!err) messages.push(msg);
    },
  });
  await nc.flush();
  return {
    messages,
    async waitForCount(count) {
      await waitFor(`${count} messages on ${subject}`, () => messages.length >= count, { timeoutMs: 10_000 });
      return messages;
    },
    close: () => nc.close(),
  };
}
