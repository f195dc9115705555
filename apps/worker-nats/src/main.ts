// worker-nats: delivers queued events to the NATS sinks of the config (see README.md).
import { runWorkerProcess } from "@berth/delivery";
import { createNatsSink } from "@berth/sink-nats";

await runWorkerProcess({
  app: "worker-nats",
  sinkType: "nats",
  createSink: (sink) => createNatsSink(sink),
  argv: process.argv.slice(2),
  env: process.env,
});
