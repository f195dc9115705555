/**
 * Redis commands per client process, counted with MONITOR on a Redis server the case owns (no
 * one else's commands in it): top-level commands (round trips, scripts counted once) by the pid
 * that owns the client socket (from `ss`), and the commands scripts ran inside Redis.
 */
import { execFileSync } from "node:child_process";
import { Redis } from "ioredis";

export interface CommandCounts {
  /** Top-level commands by pid of the sending process. */
  byPid: Map<number, number>;
  /** Commands run by Lua scripts (EVALSHA / FCALL bodies). */
  insideScripts: number;
  /** Top-level commands by name, over all clients. */
  byName: Map<string, number>;
}

/** Local port → pid of every TCP client connected to 127.0.0.1:`port`. */
function clientPids(port: number): Map<number, number> {
  const out = execFileSync("ss", ["-Htnp", "state", "established", `( dport = :${port} )`], { encoding: "utf8" });
  const pids = new Map<number, number>();
  for (const line of out.split("\n")) {
    const local = /^\S+\s+\S+\s+\S+:(\d+)\s/.exec(line)?.[1];
    const pid = /pid=(\d+)/.exec(line)?.[1];
    if (local && pid) pids.set(Number(local), Number(pid));
  }
  return pids;
}

export class RedisCommandCounter {
  private monitor: Redis | undefined;
  private byPort = new Map<number, number>();
  private insideScripts = 0;
  private byName = new Map<string, number>();

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    this.byPort.clear();
    this.byName.clear();
    this.insideScripts = 0;
    const conn = new Redis(this.url, { maxRetriesPerRequest: 1 });
    this.monitor = await conn.monitor();
    conn.disconnect();
    this.monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source === "lua") {
        this.insideScripts++;
        return;
      }
      const port = Number(source.slice(source.lastIndexOf(":") + 1));
      this.byPort.set(port, (this.byPort.get(port) ?? 0) + 1);
      let name = (args[0] ?? "").toLowerCase();
      // A script call is named by its first key's last part (BullMQ: "wait", "active", ...).
      if (name === "evalsha" || name === "eval") name += `:${args[3]?.slice(args[3].lastIndexOf(":") + 1) ?? ""}`;
      this.byName.set(name, (this.byName.get(name) ?? 0) + 1);
    });
  }

  async stop(): Promise<CommandCounts> {
    // Sockets are mapped while their clients are still connected.
    const pids = clientPids(Number(new URL(this.url).port));
    this.monitor?.disconnect();
    this.monitor = undefined;
    const byPid = new Map<number, number>();
    for (const [port, n] of this.byPort) {
      const pid = pids.get(port) ?? -1;
      byPid.set(pid, (byPid.get(pid) ?? 0) + n);
    }
    return { byPid, insideScripts: this.insideScripts, byName: new Map(this.byName) };
  }
}
