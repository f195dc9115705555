/**
 * The `access` claim of a registry token (Docker registry token spec, "Token Response"):
 * `[{ "type": "repository", "name": "team/app", "actions": ["pull", "push"] }]`. It lists
 * exactly what the token service granted; anything not listed is denied.
 */
import type { AccessAction } from "@berth/config";
import type { AccessGrants } from "./identity.js";
import { TokenError } from "./jwt.js";

/** The token spec's action for each accessControl action. */
export const TOKEN_ACTIONS: Record<AccessAction, string> = {
  read: "pull",
  create: "push",
  update: "push",
  delete: "delete",
};

export function grantsFromClaim(access: unknown): AccessGrants {
  if (access === undefined) return { allows: () => false };
  if (!Array.isArray(access)) throw new TokenError("token access claim is not an array");
  const granted = new Set<string>();
  for (const entry of access as unknown[]) {
    const { type, name, actions } = (entry ?? {}) as { type?: unknown; name?: unknown; actions?: unknown };
    if (typeof type !== "string" || typeof name !== "string" || !Array.isArray(actions)) {
      throw new TokenError("token access entry needs type, name and actions");
    }
    for (const action of actions) if (typeof action === "string") granted.add(key(type, name, action));
  }
  return {
    allows: (type, name, action) => granted.has(key(type, name, action)) || granted.has(key(type, name, "*")),
  };
}

function key(type: string, name: string, action: string): string {
  return JSON.stringify([type, name, action]);
}
