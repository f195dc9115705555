/** CPU time the Redis server has used so far (INFO cpu: used_cpu_user + used_cpu_sys), in ms. */
import { Redis } from "ioredis";

export async function redisCpuMs(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info("cpu");
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
    return (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
  } finally {
    redis.disconnect();
  }
}
