/**
 * Whether an event acknowledged into Redis survives Redis. Berth answers a push once its event is
 * in Redis; what happens to it then is Redis's persistence (https://redis.io/docs/latest/operate/
 * oss_and_stack/management/persistence/):
 *   - no AOF: everything since the last RDB snapshot (or everything, without `save`) is gone when
 *     Redis crashes or restarts;
 *   - AOF with `appendfsync everysec` (or `no`): a crash of Redis alone loses nothing, a power loss
 *     of its host up to a second (or the kernel's flush interval) of writes;
 *   - AOF with `appendfsync always`: every write is fsync'd before Redis answers.
 * Replicas receive writes asynchronously: they narrow the power-loss window, not close it.
 */
import type { RedisConnection } from "./connections.js";

export type RedisDurability =
  /** AOF with appendfsync always. */
  | "durable"
  /** No AOF: a crash or restart of Redis loses acknowledged events. */
  | "lost-on-crash"
  /** AOF, fsync once a second (or left to the kernel), no replica: a power loss loses the last second. */
  | "lost-on-power-loss"
  /** The same with replicas: a power loss of the Redis host alone loses only what no replica received yet. */
  | "replicated"
  /** AOF with an fsync policy we cannot read (CONFIG refused, as managed Redis services do). */
  | "unknown";

export interface RedisPersistence {
  durability: RedisDurability;
  appendonly?: "yes" | "no";
  appendfsync?: string;
  /** Replicas connected to this Redis (INFO replication). */
  replicas?: number;
  /** What can be lost and the setting that fixes it; absent when nothing is at risk or it is unknown. */
  warning?: string;
}

/** What the settings mean for acknowledged events (pure). */
export function assessPersistence(settings: { aof: boolean; appendfsync?: string; replicas: number }): RedisPersistence {
  const base = {
    appendonly: settings.aof ? ("yes" as const) : ("no" as const),
    ...(settings.appendfsync ? { appendfsync: settings.appendfsync } : {}),
    replicas: settings.replicas,
  };
  if (!settings.aof) {
    return {
      durability: "lost-on-crash",
      ...base,
      warning:
        "Redis runs without AOF (appendonly no): events it acknowledged since its last snapshot are lost if Redis crashes or restarts. Set appendonly yes and appendfsync always in redis.conf",
    };
  }
  if (settings.appendfsync === "always") return { durability: "durable", ...base };
  if (settings.appendfsync === undefined) return { durability: "unknown", ...base };
  if (settings.replicas > 0) return { durability: "replicated", ...base };
  const window = settings.appendfsync === "no" ? "the last seconds (the kernel's flush interval)" : "up to the last second";
  return {
    durability: "lost-on-power-loss",
    ...base,
    warning: `Redis fsyncs its AOF with appendfsync ${settings.appendfsync} and has no replica: a power loss of the Redis host loses ${window} of acknowledged events. Set appendfsync always in redis.conf`,
  };
}

/**
 * Reads the persistence settings (on a Cluster, of whichever node ioredis sends keyless commands
 * to): CONFIG GET where allowed, else INFO persistence (managed Redis
 * services refuse or rename CONFIG; INFO still says whether AOF is on, not how it is fsync'd).
 */
export async function inspectRedisPersistence(redis: RedisConnection): Promise<RedisPersistence> {
  const replicas = infoField(await redis.info("replication"), "connected_slaves");
  let aof: boolean;
  let appendfsync: string | undefined;
  try {
    const [, appendonly] = (await redis.config("GET", "appendonly")) as string[];
    const [, fsync] = (await redis.config("GET", "appendfsync")) as string[];
    aof = appendonly === "yes";
    appendfsync = fsync;
  } catch (err) {
    if (!isRefusal(err)) throw err;
    aof = infoField(await redis.info("persistence"), "aof_enabled") === "1";
  }
  return assessPersistence({ aof, ...(appendfsync ? { appendfsync } : {}), replicas: Number(replicas ?? 0) });
}

/** A reply error (unknown or renamed command, no ACL permission): Redis answered, it said no. */
function isRefusal(err: unknown): boolean {
  return (err as Error | undefined)?.name === "ReplyError";
}

function infoField(info: string, field: string): string | undefined {
  const line = info.split(/\r?\n/).find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}

interface WarnLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface RedisPersistenceWatch {
  /** The last reading; undefined until Redis has answered once. */
  current(): RedisPersistence | undefined;
  stop(): void;
}

/**
 * Reads the settings once Redis is ready (again on a reconnect: Redis may have been replaced) and
 * logs one warning per distinct risk, so a process whose Redis keeps its settings warns once.
 */
export function watchRedisPersistence(redis: RedisConnection, logger: WarnLogger): RedisPersistenceWatch {
  let reading: RedisPersistence | undefined;
  let warned: string | undefined;
  const check = () => {
    inspectRedisPersistence(redis).then(
      (result) => {
        reading = result;
        if (result.warning && result.warning !== warned) {
          warned = result.warning;
          const { warning, ...settings } = result;
          logger.warn({ redisPersistence: settings }, warning);
        }
      },
      // Redis went away mid-check: the next "ready" checks again.
      (err: unknown) => logger.debug({ err: { name: (err as Error).name, message: (err as Error).message } }, "could not read Redis persistence settings"),
    );
  };
  if (redis.status === "ready") check();
  redis.on("ready", check);
  return {
    current: () => reading,
    stop: () => redis.off("ready", check),
  };
}
