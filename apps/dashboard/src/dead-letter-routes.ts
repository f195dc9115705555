import {
  DeadLetterNotFoundError,
  SinkAdminError,
  type SinkAdminContext,
  replayDeadLetterById,
  replayDeadLetters,
} from "@berth/sink-admin";
import { type Request, type Response, Router } from "express";
import type { SinkBoards } from "./sink-boards.js";

/**
 * JSON routes beside Bull Board for scripts and for replaying a whole dead-letter queue:
 *   POST /api/dead-letters/:sink/:jobId/replay   -> 200 {outcome} | 404
 *   POST /api/dead-letters/:sink/replay-all      -> 200 {replayed, alreadyQueued, failed, …}
 * Both keep the event id (see @berth/sink-admin replay guarantees). Refused in read-only mode.
 */
export function deadLetterRoutes(ctx: SinkAdminContext, boards: SinkBoards, readOnly: boolean): Router {
  const router = Router();
  const sinkOf = (req: Request, res: Response) => {
    const entry = boards.queues.get(String(req.params["sink"]));
    if (!entry) res.status(404).json({ error: `unknown sink ${JSON.stringify(req.params["sink"])}` });
    return entry?.sink;
  };
  router.use("/api/dead-letters", (_req, res, next) => {
    if (readOnly) res.status(403).json({ error: "the dashboard is read-only" });
    else next();
  });
  router.post("/api/dead-letters/:sink/replay-all", async (req, res) => {
    const sink = sinkOf(req, res);
    if (!sink) return;
    const result = await replayDeadLetters({ ...ctx, sink });
    res.status(result.failed > 0 ? 207 : 200).json({ ...result, errors: result.errors.map((e) => e.message) });
  });
  router.post("/api/dead-letters/:sink/:jobId/replay", async (req, res) => {
    const sink = sinkOf(req, res);
    if (!sink) return;
    try {
      const outcome = await replayDeadLetterById({ ...ctx, sink, jobId: String(req.params["jobId"]) });
      res.json({ outcome });
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError) res.status(404).json({ error: err.message });
      else if (err instanceof SinkAdminError) res.status(409).json({ error: err.message, code: err.code });
      else throw err;
    }
  });
  return router;
}
