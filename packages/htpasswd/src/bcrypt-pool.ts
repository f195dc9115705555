import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * bcrypt compares on a fixed number of worker threads, so a flood of wrong passwords costs those
 * threads and never the event loop that answers every other request. Compares beyond the
 * threads wait in a FIFO queue of at most `maxQueued`; past that they are refused at once
 * (HashPoolBusyError) instead of piling up behind an attacker.
 */
export interface BcryptPoolOptions {
  /** Worker threads (default 2). */
  size?: number;
  /** Compares waiting for a thread before new ones are refused (default 1024). */
  maxQueued?: number;
}

export class HashPoolBusyError extends Error {
  override readonly name = "HashPoolBusyError";
  readonly code = "HASH_POOL_BUSY";
}

export interface BcryptPool {
  readonly size: number;
  /**
   * `signal`: the caller gave up (its client disconnected). A compare still waiting for a thread is
   * then dropped, rejected with PasswordCheckAbandoned, so a flood whose clients hang up costs no bcrypt.
   */
  compare(password: string, hash: string, signal?: AbortSignal): Promise<boolean>;
  /** Compares done so far (by the worker threads). */
  completed(): number;
  /** Compares waiting for a thread right now. */
  queued(): number;
  close(): Promise<void>;
}

interface CompareRequest {
  id: number;
  password: string;
  hash: string;
}

interface CompareReply {
  id: number;
  ok?: boolean;
  error?: string;
}

interface Task extends CompareRequest {
  resolve(ok: boolean): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/** A waiting compare dropped because its caller's signal fired (code ECONNABORTED: the client left). */
export class PasswordCheckAbandoned extends Error {
  override readonly name = "PasswordCheckAbandoned";
  readonly code = "ECONNABORTED";
}

export const DEFAULT_POOL_SIZE = 2;
const DEFAULT_MAX_QUEUED = 1024;

/**
 * The worker's code, evaluated as CommonJS: one compare per message, answered with its id. Inline
 * rather than a file because a worker started from source (tsx, in tests) does not get tsx's
 * loader, so a .ts worker file would not load; bcryptjs is resolved here, from this package.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const bcrypt = require(${JSON.stringify(createRequire(import.meta.url).resolve("bcryptjs"))});
// Linux: lower this thread's priority (nice 10), so on a busy machine the event loop serving
// every other request wins the CPU over password checks. Elsewhere, or if refused: unchanged.
// Not lower: with two busy loops on 2 cores, one cost-10 compare took 0.1-0.8 s at nice 10,
// ~5 s at nice 19 and ~25 s as SCHED_IDLE, a login no client waits for; and neither lowered the
// flood's p99 ratio measurably (e2e/src/registry-auth-abuse.e2e.test.ts).
try {
  const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
  if (tid > 0) require("node:os").setPriority(tid, 10);
} catch {}
parentPort.on("message", (req) => {
  let reply;
  try {
    reply = { id: req.id, ok: bcrypt.compareSync(req.password, req.hash) };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort.postMessage(reply);
});
`;

export function createBcryptPool(options: BcryptPoolOptions = {}): BcryptPool {
  const size = options.size ?? DEFAULT_POOL_SIZE;
  const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`bcrypt pool size must be an integer ≥ 1, got ${size}`);
  const waiting: Task[] = [];
  let nextId = 0;
  let done = 0;
  let closed = false;

  const slots: Slot[] = Array.from({ length: size }, () => spawn());

  function spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true }), task: undefined };
    // Idle workers must not keep a process alive that has nothing else to do.
    slot.worker.unref();
    slot.worker.on("message", (reply: CompareReply) => {
      const task = slot.task;
      slot.task = undefined;
      if (task?.id === reply.id) {
        done++;
        if (reply.error !== undefined) task.reject(new Error(`bcrypt: ${reply.error}`));
        else task.resolve(reply.ok === true);
      }
      dispatch();
    });
    // A worker that dies fails its task and is replaced; the pool keeps its size.
    slot.worker.on("error", (err) => {
      slot.task?.reject(err);
      slot.task = undefined;
      if (closed) return;
      const i = slots.indexOf(slot);
      if (i >= 0) slots[i] = spawn();
      dispatch();
    });
    return slot;
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (slot.task !== undefined) continue;
      const task = waiting.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.postMessage({ id: task.id, password: task.password, hash: task.hash } satisfies CompareRequest);
    }
  }

  return {
    size,
    compare(password, hash, signal) {
      if (closed) return Promise.reject(new Error("bcrypt pool is closed"));
      if (signal?.aborted) return Promise.reject(new PasswordCheckAbandoned("the caller left before the password check"));
      if (waiting.length >= maxQueued) {
        return Promise.reject(new HashPoolBusyError(`${waiting.length} password checks already waiting`));
      }
      return new Promise<boolean>((resolve, reject) => {
        const task: Task = { id: nextId++, password, hash, resolve, reject };
        if (signal) {
          // Only while waiting: a compare already on a thread runs to its end.
          const onAbort = () => {
            const i = waiting.indexOf(task);
            if (i < 0) return;
            waiting.splice(i, 1);
            reject(new PasswordCheckAbandoned("the caller left while the password check waited"));
          };
          signal.addEventListener("abort", onAbort, { once: true });
          task.resolve = (ok) => {
            signal.removeEventListener("abort", onAbort);
            resolve(ok);
          };
          task.reject = (err) => {
            signal.removeEventListener("abort", onAbort);
            reject(err);
          };
        }
        waiting.push(task);
        dispatch();
      });
    },
    completed: () => done,
    queued: () => waiting.length,
    async close() {
      if (closed) return;
      closed = true;
      const gone = new Error("bcrypt pool is closed");
      for (const task of waiting.splice(0)) task.reject(gone);
      for (const slot of slots) {
        slot.task?.reject(gone);
        slot.task = undefined;
      }
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
