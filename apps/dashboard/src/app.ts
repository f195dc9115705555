import type { BerthConfig } from "@berth/config";
import {
  type DeadLetterParker,
  type SinkAdminContext,
  configuredSinks,
  sinkStatuses,
  startDeadLetterParker,
} from "@berth/sink-admin";
import type { Logger } from "@berth/telemetry";
import { createBullBoard } from "@bull-board/api";
import { ExpressAdapter } from "@bull-board/express";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { RedisConnection } from "@berth/queue";
import { createFailureLimiter } from "@berth/htpasswd";
import type { DashboardAuth } from "./auth-settings.js";
import { basicAuth } from "./basic-auth.js";
import { deadLetterRoutes } from "./dead-letter-routes.js";
import { sameOriginOnly } from "./same-origin.js";
import { buildSinkBoards } from "./sink-boards.js";

export interface DashboardOptions {
  config: BerthConfig;
  /** Fail-fast connection for the board's reads and the operator's actions. */
  connection: RedisConnection;
  /** Wait-forever connection for the dead-letter parker's BullMQ workers. */
  consumerConnection: RedisConnection;
  /** From `resolveDashboardAuth`; `undefined` only when the config asked for anonymous access. */
  auth: DashboardAuth;
  logger: Logger;
}

export interface Dashboard {
  app: Express;
  /** Hot reload: boards for the config's new sinks (removed ones stay visible); returns their names. */
  applySinks(config: BerthConfig): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The dashboard without a listener: `/healthz` (open), then Basic auth over everything else
 * (failed logins limited per address, 429 with Retry-After),
 * then the same-origin check on every mutating request (same-origin.ts), then the dead-letter
 * replay routes and Bull Board at `/`. Starts the dead-letter parker (see
 * @berth/sink-admin) unless read-only, where nothing may change the queues.
 */
export function createDashboardApp(options: DashboardOptions): Dashboard {
  const { config, connection, logger } = options;
  const readOnly = config.dashboard.auth.readOnly;
  const ctx: SinkAdminContext = { connection, prefix: config.queue.prefix };
  const sinks = configuredSinks(config);
  const boards = buildSinkBoards(ctx, sinks, readOnly);

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath("/");
  const board = createBullBoard({
    queues: boards.adapters,
    serverAdapter,
    options: { uiConfig: { boardTitle: "Berth deliveries" } },
  });

  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", async (_req, res) => {
    try {
      await connection.ping();
      res.json({ ok: true, sinks: boards.queues.size });
    } catch (err) {
      res.status(503).json({ ok: false, error: `redis: ${(err as Error).message}` });
    }
  });
  // Failed logins per address: http.auth.failedAttempts, the registry's setting, applies here too.
  if (options.auth) app.use(basicAuth(options.auth, createFailureLimiter(config.http.auth.failedAttempts)));
  // After auth: a forged request is refused even though the browser attached valid credentials.
  app.use(sameOriginOnly());
  app.use(deadLetterRoutes(ctx, boards, readOnly));
  // What an ordered sink holds back (as `berth sink status --json` prints it).
  app.get("/sinks/:name/ordering", async (req, res, next) => {
    const sink = sinks.find((s) => s.name === req.params.name);
    if (sink?.ordering !== "repository") {
      res.status(404).json({ error: `no ordered sink named ${JSON.stringify(req.params.name)}` });
      return;
    }
    try {
      const [status] = await sinkStatuses(ctx, [sink]);
      res.json({ sink: sink.name, deadLetters: status?.deadLetters, ...status?.ordering });
    } catch (err) {
      next(err);
    }
  });
  app.use("/", serverAdapter.getRouter());
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, "dashboard request failed");
    res.status(500).json({ error: err.message });
  });

  // Parks the dead letters of every sink on the boards (a removed sink's included).
  const startParker = () =>
    readOnly
      ? undefined
      : startDeadLetterParker({
          connection: options.consumerConnection,
          prefix: config.queue.prefix,
          sinks: [...boards.queues.values()].map((e) => e.sink),
          onError: (err) => logger.warn({ err }, "dead-letter parker"),
        });
  let parker: DeadLetterParker | undefined = startParker();
  return {
    app,
    async applySinks(next) {
      const added = boards.add(configuredSinks(next));
      for (const adapter of added.adapters) board.addQueue(adapter);
      if (added.names.length > 0) {
        await parker?.close();
        parker = startParker();
      }
      return added.names;
    },
    async close() {
      await parker?.close();
      await boards.close();
    },
  };
}
