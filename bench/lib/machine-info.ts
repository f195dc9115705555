/** The machine line of BENCHMARKS.md: what the numbers were measured on. */
import { execFile } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";

const run = promisify(execFile);

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info("server");
    return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  } catch {
    return "unreachable";
  } finally {
    redis.disconnect();
  }
}

async function natsVersion(url: string): Promise<string> {
  try {
    const nc = await connect({ servers: url, timeout: 2000 });
    const version = nc.info?.version ?? "unknown";
    await nc.close();
    return version;
  } catch {
    return "unreachable";
  }
}

export async function dockerRegistryVersion(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ["--version"]);
    // "…/docker-registry github.com/docker/distribution 2.8.2+ds1"
    return stdout.trim().split(/\s+/).pop();
  } catch {
    return undefined;
  }
}

export async function machineLine(opts: { redisUrl: string; natsUrl: string; dockerRegistry: string }): Promise<string> {
  const cpu = cpus();
  const [redis, nats, registry] = await Promise.all([
    redisVersion(opts.redisUrl),
    natsVersion(opts.natsUrl),
    dockerRegistryVersion(opts.dockerRegistry),
  ]);
  const parts = [
    `CPU ${cpu[0]?.model.trim() ?? "unknown"}`,
    `${cpu.length} cores`,
    `${Math.round(totalmem() / 2 ** 30)} GiB RAM`,
    `Node ${process.version}`,
    `Redis ${redis}`,
    `NATS ${nats}`,
    `docker-registry ${registry ?? "not installed"}`,
    // The machine may be shared: the load at the start says how quiet it was.
    `load avg ${loadavg()[0]!.toFixed(1)} at start`,
    new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  ];
  return parts.join(" · ");
}
