/**
 * The delivery baseline: a bare BullMQ Worker doing the least each sink type must do per job —
 *   http:      one got POST of the event (keep-alive agent, got retries off),
 *   nats:      one publish + flush (a round trip to the server),
 *   jetstream: one JetStream publish waiting for the ack (msgID = event id, as Berth sends).
 * No job log, no breaker, no metrics. Run as its own process, like Berth's workers:
 *   bare-worker.ts --mode http|nats|jetstream --redis URL --prefix P --queue Q --concurrency N
 *                  --target URL|NATS-URL [--subject S]
 */
import { Agent } from "node:http";
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { DeliveryJobData } from "@berth/queue";
import { type Job, Worker } from "bullmq";
import got from "got";

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    redis: { type: "string" },
    prefix: { type: "string" },
    queue: { type: "string" },
    concurrency: { type: "string" },
    target: { type: "string" },
    subject: { type: "string" },
  },
});
const need = (name: keyof typeof values): string => {
  const v = values[name];
  if (!v) throw new Error(`bare-worker: --${name} is required`);
  return v;
};
const mode = need("mode");

async function processorFor(): Promise<{ process: (job: Job<DeliveryJobData>) => Promise<void>; close(): Promise<void> }> {
  if (mode === "http") {
    const target = need("target");
    const agent = new Agent({ keepAlive: true });
    return {
      async process(job) {
        const { event } = job.data;
        await got.post(target, {
          body: JSON.stringify(event.data),
          headers: { "content-type": "application/json", "ce-id": event.id, "ce-type": event.type },
          agent: { http: agent },
          retry: { limit: 0 },
          timeout: { request: 5000 },
        });
      },
      async close() {
        agent.destroy();
      },
    };
  }
  const nc = await connect({ servers: need("target"), name: "berth-bench-bare-worker" });
  const subject = need("subject");
  if (mode === "nats") {
    return {
      async process(job) {
        nc.publish(subject, JSON.stringify(job.data.event));
        await nc.flush();
      },
      close: () => nc.drain(),
    };
  }
  if (mode === "jetstream") {
    const js = jetstream(nc);
    return {
      async process(job) {
        await js.publish(subject, JSON.stringify(job.data.event), { msgID: job.data.event.id });
      },
      close: () => nc.drain(),
    };
  }
  throw new Error(`bare-worker: unknown --mode ${mode}`);
}

const deliver = await processorFor();
const worker = new Worker<DeliveryJobData>(need("queue"), (job) => deliver.process(job), {
  connection: { url: need("redis"), maxRetriesPerRequest: null },
  prefix: need("prefix"),
  concurrency: Number(need("concurrency")),
});
worker.on("error", (err) => process.stderr.write(`bare-worker: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write("ready\n");

const stop = async () => {
  await worker.close();
  await deliver.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
