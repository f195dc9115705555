/** Clean-up of a test's own Redis namespace (every test uses a unique key prefix). */
import type { Redis } from "ioredis";

const BATCH = 1_000;
/** Bounds the scan: far more rounds than any test's namespace needs. */
const MAX_ROUNDS = 100_000;

/** Deletes every key under `prefix:`. UNLINK frees memory off Redis's main thread. */
export async function deleteKeysByPrefix(conn: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [next, keys] = await conn.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", BATCH);
    if (keys.length > 0) await conn.unlink(...keys);
    cursor = next;
    if (cursor === "0") return;
  }
  throw new Error(`deleteKeysByPrefix(${prefix}): scan did not finish in ${MAX_ROUNDS} rounds`);
}

/** Bytes Redis holds for every key under `prefix:` (MEMORY USAGE, all samples), for measurements. */
export async function redisBytesByPrefix(conn: Redis, prefix: string): Promise<number> {
  let total = 0;
  let cursor = "0";
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [next, keys] = await conn.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", BATCH);
    for (const key of keys) total += Number((await conn.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
    cursor = next;
    if (cursor === "0") return total;
  }
  throw new Error(`redisBytesByPrefix(${prefix}): scan did not finish in ${MAX_ROUNDS} rounds`);
}
