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
  if (!isCluster(conn)) return conn.wait(replicas, timeoutMs);
  const node = nodeServing(conn, key);
  try {
    return await node.wait(replicas, timeoutMs);
  } catch (err) {
    // The slot map named a node that is a replica now (a failover the map has not caught up
    // with): the caller retries, on a map asked for again now rather than at its next refresh.
    conn.refreshSlotsCache();
    throw err;
  }
}

function isCluster(conn: RedisConnection): conn is Cluster {
  return "nodes" in conn && typeof conn.nodes === "function";
}

/**
 * The connection to the node the slot map names for `key`. Looked up among all of ioredis's node
 * connections, not only those it files as masters: right after a failover a promoted replica can
 * serve the slot while still filed as a replica, and a master-only lookup then failed until the
 * map was refreshed — with no keyed command redirected meanwhile, that could last.
 */
function nodeServing(cluster: Cluster, key: string): Redis {
  const [address] = cluster.slots[keySlot(key)] ?? [];
  const node = cluster.nodes("all").find((n) => `${n.options.host}:${n.options.port}` === address);
  if (!node) {
    cluster.refreshSlotsCache();
    throw new Error(`no connection to the node serving hash slot ${keySlot(key)} (slot map is refreshing)`);
  }
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
