/**
 * Imported first by main.ts, before anything submits work to libuv's threadpool (it is sized on
 * first use). Every file operation runs there, and each acknowledged write blocks a thread for an
 * fsync of its data and one of its directory: with libuv's default of 4 threads, 4 fsyncs in flight
 * stall every other file operation (blob reads included). An operator's own UV_THREADPOOL_SIZE wins.
 */
export const DEFAULT_THREADPOOL_SIZE = 16;

process.env.UV_THREADPOOL_SIZE ??= String(DEFAULT_THREADPOOL_SIZE);
