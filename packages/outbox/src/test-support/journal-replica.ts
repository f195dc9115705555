/**
 * Child process for the replicas journal test: one registry replica's outbox over the root in
 * the config (argv[2], JSON; argv[3] labels its repositories, argv[4] is an optional journal
 * lease in ms), publishing one event at a time until its stdin ends, printing
 * `ack <event id>` once each publish resolved (durable). Then it prints "done" and stays up, so
 * its relay goes on, until it is killed.
 */
import type { BerthConfig } from "@berth/config";
import { Registry, silentLogger } from "@berth/telemetry";
import { openOutbox } from "../open-outbox.js";
import { testEvent } from "./outbox-fixtures.js";

const [configJson = "", label = "replica", leaseMs] = process.argv.slice(2);
const config = JSON.parse(configJson) as BerthConfig;
const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry(), ...(leaseMs ? { journalLeaseMs: Number(leaseMs) } : {}) });
let publishing = true;
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  publishing = false;
});
process.stdout.write("ready\n");
for (let i = 0; publishing; i++) {
  const event = testEvent("image.updated", `${label}/r${i % 4}`, `t${i}`);
  await outbox.publish([event]);
  process.stdout.write(`ack ${event.id}\n`);
  // Paced a little: the test wants both replicas journaling side by side, not one CPU hog.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
process.stdout.write("done\n");
setInterval(() => {}, 60_000);
