/** What a Redis server has spent: for measurement tools and the bench, never for timed assertions. */
import type { Redis } from "ioredis";

/** CPU time the server has used since it started (INFO cpu: used_cpu_user + used_cpu_sys), in ms. */
export async function redisCpuMs(conn: Redis): Promise<number> {
  const info = await conn.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
}
