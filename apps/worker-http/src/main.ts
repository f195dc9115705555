// worker-http: delivers queued events to the HTTP sinks of the config (see README.md).
import { runWorkerProcess } from "@berth/delivery";
import { createHttpSink } from "@berth/sink-http";

await runWorkerProcess({ app: "worker-http", sinkType: "http", createSink: createHttpSink, argv: process.argv.slice(2), env: process.env });
