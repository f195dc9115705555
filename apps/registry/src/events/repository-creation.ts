import type { RequestContext } from "@berth/events";
import type { RepositoryStore } from "@berth/storage";
import type { RegistryEvents } from "./registry-events.js";

/**
 * Creates the repository if missing and makes its repository.created durable before the write
 * goes on. Storage keeps a marker until the event is handed over, so a registry killed in between
 * announces it on the next write to that repository (this client's retry) or at start-up:
 * at least once, never lost. True when this call created the repository.
 */
export function ensureAnnounced(repositories: RepositoryStore, events: RegistryEvents, name: string, context: RequestContext): Promise<boolean> {
  return repositories.ensure(name, () => events.publish([events.repositoryCreated(name, context)]));
}

/**
 * Start-up: announces every repository an earlier run created but died before announcing. Nothing
 * triggers these from a request any more, so the events carry no actor or request (as zot's
 * internally triggered events).
 */
export async function announceLeftovers(repositories: RepositoryStore, events: RegistryEvents): Promise<string[]> {
  const names = await repositories.unannounced();
  for (const name of names) await ensureAnnounced(repositories, events, name, {});
  return names;
}
