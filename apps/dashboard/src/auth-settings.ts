import { readFile } from "node:fs/promises";
import type { BerthConfig } from "@berth/config";
import { type Verifier, htpasswdVerifier, passwordVerifier } from "./basic-auth.js";
import { parseHtpasswd } from "./htpasswd.js";

export class DashboardAuthError extends Error {
  override readonly name = "DashboardAuthError";
  readonly code = "DASHBOARD_AUTH_MISSING";
}

/** `undefined` = anonymous, which the config must ask for explicitly (`dashboard.auth.anonymous`). */
export type DashboardAuth = Verifier | undefined;

/**
 * Turns `dashboard.auth` into a verifier: the htpasswd file wins over a configured user; with
 * neither and no explicit `anonymous: true`, the dashboard refuses to start.
 */
export async function resolveDashboardAuth(auth: BerthConfig["dashboard"]["auth"]): Promise<DashboardAuth> {
  if (auth.htpasswdPath) {
    const text = await readFile(auth.htpasswdPath, "utf8");
    return htpasswdVerifier(parseHtpasswd(text, auth.htpasswdPath));
  }
  if (auth.username && auth.password) return passwordVerifier(auth.username, auth.password);
  if (auth.anonymous) return undefined;
  throw new DashboardAuthError(
    "dashboard.auth: set htpasswd or username/password, or anonymous: true to serve the dashboard without authentication",
  );
}
