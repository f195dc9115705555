/**
 * Redis WAIT for the writes a connection just made: how many replicas have acknowledged them.
 * WAIT counts the writes of the connection it is sent on, so on a Cluster it must go to the
 * master connection that ran them: the one serving `key`'s hash slot (ioredis keeps one
 * connection per node, and routes a keyed command and its WAIT through the same one).
 */
import type { Cluster, Redis } from "ioredis";
import type { RedisConnection } from "./connections.js";

/** Replicas that acknowledged every earlier write on this connection within `timeoutMs`. */
export async function waitForReplicas(
  conn: RedisConnection,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  const node = isCluster(conn) ? masterServing(conn, key) : conn;
  return node.wait(replicas, timeoutMs);
}

function isCluster(conn: RedisConnection): conn is Cluster {
  return "nodes" in conn && typeof conn.nodes === "function";
}

function masterServing(cluster: Cluster, key: string): Redis {
  const [master] = cluster.slots[keySlot(key)] ?? [];
  const node = cluster.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === master);
  if (!node) throw new Error(`no master connection for hash slot ${keySlot(key)} (slot map is refreshing)`);
  return node;
}

/** The Redis Cluster hash slot of `key`: CRC16 (XMODEM) of its hash tag or of the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed, "utf8")) % 16384;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
