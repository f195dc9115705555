#!/usr/bin/env node
// Quick-start consumer: prints every event Berth delivers to it.
//   demo-consumer --port 9200 [--user U --password P] [--nats nats://127.0.0.1:4222 --subject berth.events] [--json]
import { parseArgs } from "node:util";
import { type ReceivedEvent, eventLine } from "./event-line.js";
import { createHttpReceiver } from "./http-receiver.js";
import { subscribeNats } from "./nats-subscriber.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9200" },
    address: { type: "string", default: "127.0.0.1" },
    user: { type: "string" },
    password: { type: "string" },
    nats: { type: "string" },
    subject: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const print = (e: ReceivedEvent) =>
  console.log(values.json ? JSON.stringify(e) : eventLine(e));

const basicAuth =
  values.user && values.password ? { username: values.user, password: values.password } : undefined;
const server = createHttpReceiver({ basicAuth, onEvent: print });
server.listen(Number(values.port), values.address, () =>
  console.error(`demo-consumer: HTTP events on http://${values.address}:${values.port}/events`),
);

let stopNats: (() => Promise<void>) | undefined;
if (values.nats && values.subject) {
  stopNats = await subscribeNats(values.nats, values.subject, print);
  console.error(`demo-consumer: NATS events from ${values.subject} on ${values.nats}`);
}

// One stop for every signal: Ctrl-C in the stack's terminal sends SIGINT to every process and
// the stack then sends SIGTERM, and draining NATS a second time throws DrainingConnectionError.
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await stopNats?.().catch((err: unknown) => console.error(`demo-consumer: NATS drain: ${String(err)}`));
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop());
