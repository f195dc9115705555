import type { BerthConfig } from "@berth/config";
import { loadHtpasswd } from "@berth/htpasswd";
import { type Verifier, passwordVerifier } from "./basic-auth.js";

export class DashboardAuthError extends Error {
  override readonly name = "DashboardAuthError";
  readonly code = "DASHBOARD_AUTH_MISSING";
}

/** `undefined` = anonymous, which the config must ask for explicitly (`dashboard.auth.anonymous`). */
export type DashboardAuth = (Verifier & { close?(): Promise<void> }) | undefined;

/**
 * Turns `dashboard.auth` into a verifier: the htpasswd file wins over a configured user; with
 * neither and no explicit `anonymous: true`, the dashboard refuses to start. `bcryptWorkers`:
 * the htpasswd checks' threads (http.auth.bcryptWorkers, as the registry's).
 */
export async function resolveDashboardAuth(auth: BerthConfig["dashboard"]["auth"], bcryptWorkers?: number): Promise<DashboardAuth> {
  if (auth.htpasswdPath) {
    return loadHtpasswd(auth.htpasswdPath, bcryptWorkers === undefined ? {} : { poolSize: bcryptWorkers });
  }
  if (auth.username && auth.password) return passwordVerifier(auth.username, auth.password);
  if (auth.anonymous) return undefined;
  throw new DashboardAuthError(
    "dashboard.auth: set htpasswd or username/password, or anonymous: true to serve the dashboard without authentication",
  );
}
