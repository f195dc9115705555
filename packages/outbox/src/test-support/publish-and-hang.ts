/**
 * Child process for the crash-safety test: opens an outbox from the config in argv[2] (JSON),
 * publishes the events in argv[3] (JSON array) while Redis is down, prints "journaled", then
 * waits to be SIGKILLed so nothing gets a chance to relay or close.
 */
import type { BerthConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { Registry, silentLogger } from "@berth/telemetry";
import { openOutbox } from "../open-outbox.js";

const [configJson = "", eventsJson = "[]"] = process.argv.slice(2);
const config = JSON.parse(configJson) as BerthConfig;
const events = JSON.parse(eventsJson) as BerthEvent[];
const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
for (const event of events) await outbox.publish([event]);
process.stdout.write(`journaled ${outbox.status().journalDepth}\n`);
setInterval(() => {}, 60_000);
