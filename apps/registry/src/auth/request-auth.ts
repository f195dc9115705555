/**
 * Authentication and authorization of one request, in the order the app calls them:
 * `authenticate` (who: sets ctx.identity / ctx.user, 401 for bad credentials) before the
 * repository name is validated, `authorize` (may they: 401 for anonymous requests and tokens
 * lacking the scope, 403 DENIED otherwise) after it, then the handler. Providers come from
 * authenticate.ts, decisions from @berth/access, route → action from route-access.ts.
 */
import { type Identity, createAuthorizer } from "@berth/access";
import type { AccessControlSettings } from "@berth/config";
import type { FailureLimiter, Htpasswd } from "@berth/htpasswd";
import { OciError } from "@berth/oci";
import type { Storage } from "@berth/storage";
import type { Ctx } from "../http/context.js";
import type { RouteMatch } from "../http/router.js";
import { Authenticator } from "./authenticate.js";
import { BearerProvider, type BearerProviderOptions } from "./bearer.js";
import { AuthenticationRequired } from "./challenge.js";
import { LdapAuthenticator, type LdapProviderOptions } from "./ldap.js";
import { type RequiredAccess, actionOf, requiredAccess, tokenScope } from "./route-access.js";

export interface RequestAuthOptions {
  htpasswd?: Htpasswd;
  /** Failed Basic logins per client address; unset = no limit. */
  limiter?: FailureLimiter;
  ldap?: LdapProviderOptions;
  bearer?: BearerProviderOptions;
  /** The listener verifies client certificates: their CN identifies the request. */
  clientCertificates: boolean;
  accessControl?: AccessControlSettings;
  storage: Storage;
}

export interface RequestAuth {
  authenticate(ctx: Ctx, route: RouteMatch): Promise<void>;
  authorize(ctx: Ctx, route: RouteMatch): Promise<void>;
  /**
   * `/metrics`: open, unless `http.metricsAuth` asks for any authenticated user or
   * accessControl.metrics names the users who may read it.
   */
  authorizeMetrics(ctx: Ctx, requireAuthenticated: boolean): Promise<void>;
}

export function createRequestAuth(options: RequestAuthOptions): RequestAuth {
  const { htpasswd, limiter, ldap, bearer, clientCertificates, accessControl, storage } = options;
  const authorizer = createAuthorizer({
    ...(accessControl ? { accessControl } : {}),
    authenticationConfigured: htpasswd !== undefined || ldap !== undefined || bearer !== undefined || clientCertificates,
  });
  const authenticator = new Authenticator(
    {
      ...(htpasswd ? { htpasswd } : {}),
      ...(limiter ? { limiter } : {}),
      ...(ldap ? { ldap: new LdapAuthenticator(ldap) } : {}),
      ...(bearer ? { bearer: new BearerProvider(bearer) } : {}),
      clientCertificates,
    },
    (user) => authorizer.groupsOf(user),
  );

  /** 401 with a challenge for anonymous requests (so clients send credentials), 403 otherwise. */
  function deny(identity: Identity | undefined, scope: string | undefined, needed?: RequiredAccess): never {
    if (identity === undefined) throw new AuthenticationRequired(authenticator.challenge(scope));
    // Token spec: a token without the needed access gets a new challenge, so the client can
    // fetch one with the right scope from the token service.
    if (identity.grants) throw new AuthenticationRequired(`${authenticator.challenge(scope)},error="insufficient_scope"`, "insufficient scope");
    throw new OciError("DENIED", undefined, { detail: needed ? { name: needed.repository, action: needed.action } : {} });
  }

  /** The scope a challenge names, from the route as requested (no lookup: a manifest PUT says create). */
  function firstScope(ctx: Ctx, route: RouteMatch): string | undefined {
    const action = actionOf(route.id, ctx.req.method ?? "");
    return tokenScope(route.id, action === undefined ? undefined : { action, repository: route.name ?? "" });
  }

  const metricsUsers = accessControl?.metricsUsers;

  return {
    async authorizeMetrics(ctx, requireAuthenticated) {
      if (metricsUsers === undefined && !requireAuthenticated) return;
      const identity = await authenticator.authenticate(ctx.req, undefined);
      ctx.identity = identity;
      ctx.user = identity?.user;
      if (identity === undefined || (metricsUsers !== undefined && !metricsUsers.includes(identity.user))) deny(identity, undefined);
    },

    async authenticate(ctx, route) {
      const identity = await authenticator.authenticate(ctx.req, firstScope(ctx, route));
      ctx.identity = identity;
      ctx.user = identity?.user;
    },

    async authorize(ctx, route) {
      const identity = ctx.identity;
      if (route.id === "base") {
        if (identity === undefined && !authorizer.admitsAnonymousPing()) deny(identity, undefined);
      } else if (route.id === "catalog") {
        if (!authorizer.canListCatalog(identity)) deny(identity, tokenScope(route.id, undefined));
      } else {
        const request = { route: route.id, method: ctx.req.method ?? "", name: ctx.name, ref: ctx.ref };
        const bothWrites = (repository: string) =>
          authorizer.can(identity, "create", repository) === authorizer.can(identity, "update", repository);
        const needed = await requiredAccess(request, storage, bothWrites);
        if (needed && !authorizer.can(identity, needed.action, needed.repository)) deny(identity, tokenScope(route.id, needed), needed);
      }
      ctx.access = {
        can: (action, repository) => authorizer.can(identity, action, repository),
        showsInCatalog: (repository) => authorizer.showsInCatalog(identity, repository),
      };
    },
  };
}
