/**
 * The one decision per (identity, action, repository), whichever provider authenticated:
 * a bearer token's grants, else accessControl, else "any authenticated user may do anything"
 * (htpasswd without accessControl, as in zot) and anonymous requests only when no
 * authentication is configured at all.
 */
import type { AccessAction, AccessControlSettings } from "@berth/config";
import { type AccessPolicy, compileAccessPolicy } from "./access-policy.js";
import type { Identity } from "./identity.js";
import { TOKEN_ACTIONS } from "./token-access.js";

export interface Authorizer {
  can(identity: Identity | undefined, action: AccessAction, repository: string): boolean;
  /** May this identity call `/v2/_catalog` at all? */
  canListCatalog(identity: Identity | undefined): boolean;
  /** Is this repository in the identity's catalog: those it may read, or all with a catalog token. */
  showsInCatalog(identity: Identity | undefined, repository: string): boolean;
  /**
   * May a request without credentials have `/v2/`? Only when no authentication is configured:
   * clients (containers/image, docker) decide from that answer whether to send credentials at
   * all, so a 200 there would stop authenticated users from ever logging in, even where
   * anonymousPolicy opens some repositories.
   */
  admitsAnonymousPing(): boolean;
  groupsOf(user: string): string[];
}

export interface AuthorizerOptions {
  accessControl?: AccessControlSettings;
  /** Some authentication provider is configured (htpasswd, bearer, client certificates). */
  authenticationConfigured: boolean;
}

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const policy: AccessPolicy | undefined = options.accessControl ? compileAccessPolicy(options.accessControl) : undefined;
  const open = !options.authenticationConfigured;
  return {
    can(identity, action, repository) {
      if (identity?.grants) return identity.grants.allows("repository", repository, TOKEN_ACTIONS[action]);
      if (policy) return policy.can(identity, action, repository);
      return identity !== undefined || open;
    },
    canListCatalog(identity) {
      // The token spec's scope for the catalog; everyone else sees a filtered list.
      if (identity?.grants) return identity.grants.allows("registry", "catalog", "*");
      return identity !== undefined || open || (policy?.grantsAnonymous ?? false);
    },
    showsInCatalog(identity, repository) {
      return identity?.grants ? true : this.can(identity, "read", repository);
    },
    admitsAnonymousPing: () => open,
    groupsOf: (user) => policy?.groupsOf(user) ?? [],
  };
}
