/**
 * `berth sink bootstrap NAME`: sends a new consumer the registry's current state, so it starts
 * complete: one `image.updated` per tag (the sink's filters apply), marked with the `snapshot`
 * extension attribute, read from the registry's storage (`storage.rootDirectory`: the CLI runs
 * where the registry's files are; no registry credentials needed, nothing written there).
 *
 * Each snapshot event carries its repository's `sequence` as it was just before the repository's
 * tags were read: "this tag's state as of that sequence". A later event of the repository has a
 * higher sequence; the consumer applies a snapshot event unless it already applied a later event.
 * Snapshot events are new events (new ids); on an ordered sink they join no pending set and are
 * delivered at once, next to the live events.
 */
import type { BerthConfig, SinkConfig } from "@berth/config";
import { type BerthEvent, createEventFactory, formatSequence, shapePayload } from "@berth/events";
import { createSinkFilter } from "@berth/outbox";
import { DELIVERY_JOB_NAME, deliveryJobOptions, sequenceKey } from "@berth/queue";
import type { Storage } from "@berth/storage";
import { type SinkAdminContext, openSinkQueues } from "./context.js";

export interface BootstrapResult {
  repositories: number;
  /** Snapshot events queued for the sink. */
  queued: number;
}

export async function bootstrapSink(
  ctx: SinkAdminContext & { sink: SinkConfig; storage: Storage; events: Pick<BerthConfig["extensions"]["events"], "source" | "typePrefix"> },
): Promise<BootstrapResult> {
  const { sink, storage } = ctx;
  const factory = createEventFactory({ source: ctx.events.source, typePrefix: ctx.events.typePrefix });
  const accepts = createSinkFilter(sink);
  const queues = openSinkQueues(ctx, sink);
  const result: BootstrapResult = { repositories: 0, queued: 0 };
  try {
    for (const repository of await storage.repositories.list()) {
      const sequence = await ctx.connection.hget(sequenceKey(ctx.prefix), repository);
      const events: BerthEvent[] = [];
      for (const tag of await storage.manifests.tags(repository)) {
        const manifest = await storage.manifests.get(repository, tag);
        const event = factory.build("image.updated", {
          name: repository,
          reference: tag,
          digest: manifest.digest,
          mediaType: manifest.mediaType,
          manifest: manifest.body.toString("utf8"),
        });
        if (!accepts(event)) continue;
        // In the form the sink takes, as its live events (a thin sink: no manifest).
        const shaped = shapePayload(event, sink);
        events.push({ ...shaped, ...(sequence === null ? {} : { sequence: formatSequence(Number(sequence)) }), snapshot: true });
      }
      if (events.length === 0) continue;
      await queues.sink.addBulk(
        events.map((event) => ({ name: DELIVERY_JOB_NAME, data: { event, sink: sink.name }, opts: deliveryJobOptions(sink, event.id) })),
      );
      result.repositories++;
      result.queued += events.length;
    }
    return result;
  } finally {
    await queues.close();
  }
}
