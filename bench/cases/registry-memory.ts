/**
 * Case 2 — registry memory: peak RSS (VmHWM) of a fresh registry process after a 1 GiB blob is
 * pushed in chunked PATCHes (streamed from a generator) and pulled back. Goal (issue 3): Berth
 * stays under 150 MB. docker-registry's peak is shown beside it for reference.
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { startBerthRegistry, type RunningRegistry } from "../lib/berth-registry.js";
import { ensureDockerRegistry, startDockerRegistry } from "../lib/baselines/docker-registry.js";
import { GeneratedBlob } from "../lib/blob-stream.js";
import { HttpLoadClient } from "../lib/load-generator.js";
import { downloadBlob, uploadBlobChunked } from "../lib/oci-client.js";
import { peakRssMb } from "../lib/proc-status.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const GOAL_MB = 150;

async function pushAndPull(name: string, start: () => Promise<RunningRegistry>, size: number, chunk: number): Promise<number> {
  const registry = await start();
  const client = new HttpLoadClient(registry.url, 1);
  try {
    const blob = new GeneratedBlob(size);
    progress(`registry memory: ${name}: pushing ${size / 2 ** 20} MiB in ${chunk / 2 ** 20} MiB chunks`);
    const digest = await uploadBlobChunked(client, "bench/memory", size, chunk, (o, l) => blob.range(o, l), () => blob.digest());
    progress(`registry memory: ${name}: pulling it back`);
    const bytes = await downloadBlob(client, "bench/memory", digest);
    if (bytes !== size) throw new Error(`${name}: pulled ${bytes} bytes of ${size}`);
    return peakRssMb(registry.process.pid);
  } finally {
    client.close();
    await registry.stop();
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const size = ctx.quick ? 256 * 2 ** 20 : 2 ** 30;
  const chunk = ctx.quick ? 32 * 2 ** 20 : 64 * 2 ** 20;
  const haveBerth = appExists("registry", ctx.mode);
  const haveBaseline = await ensureDockerRegistry();
  const berth: number[] = [];
  const baseline: number[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    progress(`registry memory: rep ${rep + 1}/${ctx.reps}`);
    await interleaved(
      rep,
      async () => {
        if (!haveBerth) return;
        const start = () => startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix: "bench-unused", events: false });
        berth.push(await pushAndPull("berth", start, size, chunk));
      },
      async () => {
        if (haveBaseline) baseline.push(await pushAndPull("docker-registry", startDockerRegistry, size, chunk));
      },
    );
  }
  const notes: string[] = [];
  if (!haveBerth) notes.push(`Berth part missing: ${appEntry("registry", ctx.mode)}`);
  if (!haveBaseline) notes.push("baseline unavailable: docker-registry not installed");
  return [
    {
      case: `Registry peak RSS, push + pull of a ${size / 2 ** 20} MiB blob (lower is better)`,
      unit: "MB",
      goal: { kind: "berth-below", value: GOAL_MB, unit: "MB" },
      ...(berth.length ? { berth: summarize(berth) } : {}),
      ...(baseline.length ? { baseline: summarize(baseline) } : {}),
      ...(berth.length && baseline.length ? { ratio: summarize(pairedRatios(berth, baseline)) } : {}),
      ...(notes.length ? { note: notes.join("; "), missingPart: !haveBerth } : {}),
    },
  ];
}

export const registryMemory: BenchCase = {
  id: "registry-memory",
  title: "Registry memory while pushing and pulling a 1 GiB blob",
  method:
    "A fresh registry process per repetition; a 1 GiB blob generated on the fly (never held in memory) is pushed in 64 MiB " +
    "Content-Range PATCHes, each streamed, then pulled back; the figure is the process's VmHWM from /proc/<pid>/status. " +
    "docker-registry gets the same push and pull, for reference.",
  run,
};
