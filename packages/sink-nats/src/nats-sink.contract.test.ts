import { fileURLToPath } from "node:url";
import { runSinkContract } from "@berth/delivery-contract";
import { startCoreHarness, startJetStreamHarness } from "./test-support/nats-harness.js";

// JetStream: every case, including real worker processes (SIGKILL / SIGTERM mid-load).
runSinkContract({
  name: "nats-jetstream",
  makeHarness: startJetStreamHarness,
  workerMain: fileURLToPath(new URL("../../../apps/worker-nats/src/main.ts", import.meta.url)),
  killEvents: 1_000,
});

// Core NATS (publish + flush): the sink and runtime cases; it has no permanent refusal to play.
runSinkContract({ name: "nats-core", makeHarness: startCoreHarness });
