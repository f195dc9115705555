// Loaded with `node --import`: every `import "bullmq"` resolves from BERTH_BULLMQ_DIR (a temp
// install of another bullmq release) instead of the workspace's pinned copy. Nothing else moves.
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const dir = process.env.BERTH_BULLMQ_DIR;
if (!dir) throw new Error("BERTH_BULLMQ_DIR is not set");
register("./resolve-bullmq-hooks.mjs", import.meta.url, { data: { parentURL: pathToFileURL(`${dir}/package.json`).href } });
