import type { Redis } from "ioredis";

/**
 * Runs `issue` with the connection's socket corked: every command it sends synchronously is
 * buffered and leaves in a single write when it returns. On this kind of machine a loopback
 * write costs ~40–50 µs of CPU, so two sinks' adds in one write instead of two is a real saving,
 * without ioredis's auto-pipelining machinery (which costs more than it saves here).
 */
export function inOneWrite(redis: Redis, issue: () => void): void {
  const socket = redis.stream;
  if (!socket || socket.destroyed) {
    issue();
    return;
  }
  socket.cork();
  try {
    issue();
  } finally {
    socket.uncork();
  }
}
