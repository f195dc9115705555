/**
 * Group commit for the enqueuer. A publish that arrives while another one is still being written
 * waits up to `windowMs` for company, then all the publishes gathered so far are written together
 * (one write, one Redis read of the commands, one round trip). Under load this divides the
 * per-write cost (syscalls on both sides, the ioredis pipeline, Redis's reply) by the group size;
 * an idle registry never waits. Each caller still resolves only when its own jobs are in Redis.
 */
export interface WriteWindow<T> {
  submit(items: readonly T[]): Promise<void>;
}

export function createWriteWindow<T>(windowMs: number, write: (items: readonly T[]) => Promise<void>): WriteWindow<T> {
  let writing = 0;
  let gathering: { items: T[]; done: Promise<void> } | undefined;

  function tracked(items: readonly T[]): Promise<void> {
    writing++;
    const done = write(items);
    void done.then(
      () => writing--,
      () => writing--,
    );
    return done;
  }

  return {
    submit(items) {
      if (windowMs <= 0 || (writing === 0 && !gathering)) return tracked(items);
      if (gathering) {
        gathering.items.push(...items);
        return gathering.done;
      }
      const group = { items: [...items], done: Promise.resolve() };
      group.done = new Promise<void>((resolve) => setTimeout(resolve, windowMs)).then(() => {
        gathering = undefined;
        return tracked(group.items);
      });
      gathering = group;
      return group.done;
    },
  };
}
