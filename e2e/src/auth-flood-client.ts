/**
 * The attacker of the auth abuse suite, in a process of its own (forked with an IPC channel):
 * `connections` loops each send wrong passwords for one user, one request after the other on
 * their own keep-alive connection, from `start` until `stop`. Out of the test process so that the
 * probes measuring the registry do not share an event loop with the flood's requests and answers,
 * as a remote attacker would not.
 *
 *   parent → { type: "start", url, user, connections, tag }   child → { type: "started" }
 *   parent → { type: "stop" }   child → { type: "stopped", statuses, cpuMs }   (statuses: code → count)
 *
 * "started" comes once every connection has written its first guess: the ramp (opening the
 * connections, once per flood for a real attacker, here once per round) is over, and the
 * registry has the guesses, which keep its bcrypt threads busy and its queue full. node:http
 * rather than fetch because it says when a request is written.
 */
import { Agent, request } from "node:http";

export type FloodCommand = { type: "start"; url: string; user: string; connections: number; tag: string } | { type: "stop" };
export type FloodReply = { type: "started" } | { type: "stopped"; statuses: Record<string, number>; cpuMs: number };

const send = (reply: FloodReply) => process.send?.(reply);

interface Flood {
  stopped: boolean;
  /** The request each connection has in flight, destroyed on `stop`. */
  inFlight: Set<ReturnType<typeof request>>;
  loops: Promise<unknown>;
  agent: Agent;
  statuses: Record<string, number>;
  cpu: NodeJS.CpuUsage;
}

let running: Flood | undefined;

/** One guess; resolves with its status, or undefined once the flood hung up on it. */
function guess(flood: Flood, url: string, authorization: string, written: () => void): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(`${url}/v2/`, { agent: flood.agent, headers: { authorization } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", () => resolve(undefined));
    });
    flood.inFlight.add(req);
    req.on("finish", written);
    req.on("close", () => flood.inFlight.delete(req));
    req.on("error", (err) => {
      // Hanging up on `stop` is the point; anything else is a finding the parent must see.
      if (!flood.stopped) flood.statuses[`error: ${err.message}`] = (flood.statuses[`error: ${err.message}`] ?? 0) + 1;
      resolve(undefined);
    });
    req.end();
  });
}

function start(cmd: Extract<FloodCommand, { type: "start" }>): void {
  const flood: Flood = {
    stopped: false,
    inFlight: new Set(),
    loops: Promise.resolve(),
    agent: new Agent({ keepAlive: true, maxSockets: cmd.connections }),
    statuses: {},
    cpu: process.cpuUsage(),
  };
  let unwritten = cmd.connections;
  const firstWritten = () => {
    if (--unwritten === 0) send({ type: "started" });
  };
  flood.loops = Promise.all(
    Array.from({ length: cmd.connections }, async (_, c) => {
      for (let i = 0; !flood.stopped; i++) {
        const authorization = `Basic ${Buffer.from(`${cmd.user}:guess-${cmd.tag}-${c}-${i}`).toString("base64")}`;
        const status = await guess(flood, cmd.url, authorization, i === 0 ? firstWritten : () => {});
        if (status !== undefined) flood.statuses[status] = (flood.statuses[status] ?? 0) + 1;
      }
    }),
  );
  running = flood;
  if (cmd.connections === 0) send({ type: "started" });
}

async function halt(): Promise<void> {
  const flood = running;
  running = undefined;
  if (!flood) return void send({ type: "stopped", statuses: {}, cpuMs: 0 });
  flood.stopped = true;
  // Closing the connections is what tells the registry to drop the guesses still queued.
  for (const req of flood.inFlight) req.destroy();
  await flood.loops;
  flood.agent.destroy();
  const used = process.cpuUsage(flood.cpu);
  send({ type: "stopped", statuses: flood.statuses, cpuMs: (used.user + used.system) / 1000 });
}

process.on("message", (cmd: FloodCommand) => {
  if (cmd.type === "start") start(cmd);
  else void halt();
});
// The test is gone: so is its attacker.
process.on("disconnect", () => process.exit(0));
