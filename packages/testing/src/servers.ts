import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { waitFor } from "./wait-for.js";

/** The shared servers every session and CI run has (tests isolate by key prefix / subject). */
export const SHARED_REDIS_URL = "redis://127.0.0.1:6379";
export const SHARED_NATS_URL = "nats://127.0.0.1:4222";

export interface OwnServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGKILL (or SIGTERM) the process and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port with the same data directory. */
  start(): Promise<void>;
  /** Stop and remove its data directory. */
  destroy(): Promise<void>;
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function ownServer(
  label: string,
  command: string,
  args: (port: number, dir: string) => string[],
  scheme: string,
  pickPort: () => Promise<number> = freePort,
): Promise<OwnServer> {
  const port = await pickPort();
  const dir = await mkdtemp(join(tmpdir(), `berth-${label}-`));
  let child: ChildProcess | undefined;
  const server: OwnServer = {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    dir,
    async start() {
      child = spawn(command, args(port, dir), { stdio: "ignore" });
      const c = child;
      c.once("error", () => {});
      await waitFor(`${label} on port ${port}`, () => portOpen(port), { timeoutMs: 15_000 });
    },
    async stop(signal = "SIGKILL") {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill(signal);
      await exited;
    },
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** A redis-server this test controls (to kill, restart, or run with AOF), on a free port. */
export function startRedisServer(
  options: { appendonly?: boolean; appendfsync?: "always" | "everysec" | "no"; replicaOf?: number; extraArgs?: string[] } = {},
): Promise<OwnServer> {
  return ownServer(
    "redis",
    "redis-server",
    (port, dir) => [
      "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
      "--appendonly", options.appendonly ? "yes" : "no", "--appendfsync", options.appendfsync ?? "always",
      ...(options.replicaOf === undefined ? [] : ["--replicaof", "127.0.0.1", String(options.replicaOf)]),
      ...(options.extraArgs ?? []),
    ],
    "redis",
  );
}

/** A nats-server this test controls, with JetStream stored in a temp dir, on a free port. */
export function startNatsServer(options: { jetstream?: boolean; extraArgs?: string[] } = {}): Promise<OwnServer> {
  return ownServer(
    "nats",
    "nats-server",
    (port, dir) => [
      "-a", "127.0.0.1", "-p", String(port),
      ...(options.jetstream === false ? [] : ["-js", "-sd", dir]),
      ...(options.extraArgs ?? []),
    ],
    "nats",
  );
}
