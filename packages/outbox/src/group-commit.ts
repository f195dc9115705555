/**
 * Group commit for the enqueuer, without a timer. At most `maxInFlight` writes are in flight;
 * publishes that arrive while that many are are gathered and written together, in arrival order,
 * as soon as one finishes. An idle registry writes at once; a busy one pays one write syscall on
 * each side, one Redis read and one reply per group instead of per publish. In `pnpm bench --only
 * outbox` the events-on registry's extra CPU per manifest PUT was +525..+775 µs in three quick runs
 * without it and +350..+475 µs with it (noisy 2-core runs; no Redis CPU gain: script execution
 * dominates there). A publish waits at most for the round trip ahead of it.
 *
 * Two in flight (the enqueuer's default) rather than one (issue 22): at a steady 500/s the
 * producer's timer often hands over two events in one tick, and with one write in flight the
 * second waited a whole round trip for the first — 10 % of the publishes of a paced run (1,103 of
 * 10,500, load avg 8), where `Queue.add` sends both at once. Writes start in submit order; the
 * writer keeps their sends in that order (enqueue.ts). Each caller resolves or rejects with its
 * own group.
 */
export interface GroupCommit<T> {
  submit(items: readonly T[]): Promise<void>;
}

interface Group<T> {
  items: T[];
  done: Promise<void>;
  start(): void;
}

export function createGroupCommit<T>(write: (items: readonly T[]) => Promise<void>, maxInFlight = 1): GroupCommit<T> {
  let inFlight = 0;
  let gathering: Group<T> | undefined;

  function run(items: readonly T[]): Promise<void> {
    inFlight++;
    const done = write(items);
    const next = () => {
      inFlight--;
      const group = gathering;
      gathering = undefined;
      group?.start();
    };
    done.then(next, next);
    return done;
  }

  function gather(items: readonly T[]): Group<T> {
    let start = () => {};
    const group: Group<T> = {
      items: [...items],
      done: new Promise<void>((resolve, reject) => {
        start = () => run(group.items).then(resolve, reject);
      }),
      start: () => start(),
    };
    return group;
  }

  return {
    submit(items) {
      // A gathered group exists only while every slot is taken: it goes before any later publish.
      if (inFlight < maxInFlight) return run(items);
      if (gathering) {
        gathering.items.push(...items);
        return gathering.done;
      }
      gathering = gather(items);
      return gathering.done;
    },
  };
}
