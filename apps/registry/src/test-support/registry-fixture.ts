import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_FAILED_ATTEMPTS } from "@berth/config";
import { createEventFactory } from "@berth/events";
import { type Htpasswd, createFailureLimiter, createHtpasswd } from "@berth/htpasswd";
import { type Storage, type StorageOptions, openStorage } from "@berth/storage";
import { Registry, silentLogger } from "@berth/telemetry";
import { type RegistryApp, type RegistryAppOptions, createRegistryApp } from "../app.js";
import { RecordingPublisher } from "./recording-publisher.js";

export interface RunningRegistry {
  url: string;
  host: string;
  root: string;
  app: RegistryApp;
  storage: Storage;
  publisher: RecordingPublisher;
  metrics: Registry;
  stop(): Promise<void>;
}

export type FixtureOptions = Partial<Omit<RegistryAppOptions, "storage" | "publisher" | "events" | "logger" | "metrics" | "htpasswd">> & {
  root?: string;
  /** Storage options: the write layer's (an observer of every change), the lock's. */
  storageOptions?: StorageOptions;
  eventSource?: string;
  typePrefix?: string;
  /** htpasswd file content: Basic auth with the default failed-attempt limit. */
  htpasswd?: string;
};

/** A real registry on 127.0.0.1:<free port> over a fresh temp root, with a recording publisher. */
export async function startRegistry(options: FixtureOptions = {}): Promise<RunningRegistry> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "berth-registry-")));
  const storage = await openStorage(root, options.storageOptions);
  const publisher = new RecordingPublisher();
  const metrics = new Registry();
  const factoryOptions: { source?: string; typePrefix?: string } = {};
  if (options.eventSource) factoryOptions.source = options.eventSource;
  if (options.typePrefix) factoryOptions.typePrefix = options.typePrefix;
  let htpasswd: Htpasswd | undefined;
  if (options.htpasswd !== undefined) {
    htpasswd = await createHtpasswd(options.htpasswd, "test htpasswd", { poolSize: 1 });
  }
  const { htpasswd: _content, ...appOptions } = options;
  const app = createRegistryApp({
    ...appOptions,
    ...(htpasswd ? { htpasswd, limiter: createFailureLimiter(DEFAULT_FAILED_ATTEMPTS) } : {}),
    storage,
    publisher,
    events: createEventFactory(factoryOptions),
    logger: silentLogger(),
    metrics,
  });
  await new Promise<void>((resolve) => app.server.listen(0, "127.0.0.1", resolve));
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    root,
    app,
    storage,
    publisher,
    metrics,
    async stop() {
      await app.close(1000);
      await storage.flushViews(); // no index.json redraw may run into the removal below
      await htpasswd?.close();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
