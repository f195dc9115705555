import { fileURLToPath } from "node:url";
import { runSinkContract } from "@berth/delivery-contract";
import { startHttpHarness } from "./test-support/http-harness.js";

runSinkContract({
  name: "http",
  makeHarness: startHttpHarness,
  workerMain: fileURLToPath(new URL("../../../apps/worker-http/src/main.ts", import.meta.url)),
});
