/**
 * zot's accessControl, evaluated as zot does (pkg/api/authz.go): the longest repository glob
 * that matches a repository decides for it — a user named in one of its policies with the
 * action, or in a group named there; then `defaultPolicy` for any authenticated user,
 * `anonymousPolicy` for requests without credentials — and when it says no, `adminPolicy`
 * may still allow the action on every repository.
 */
import type { AccessAction, AccessControlSettings, AccessRule, RepositoryAccess } from "@berth/config";
import { compileRepositoryGlob } from "@berth/oci";
import type { Identity } from "./identity.js";

export interface AccessPolicy {
  can(identity: Identity | undefined, action: AccessAction, repository: string): boolean;
  /** The groups `accessControl.groups` puts a user in. */
  groupsOf(user: string): string[];
  /** True when some repository grants anonymous requests anything (so `/v2/` answers them). */
  readonly grantsAnonymous: boolean;
}

interface CompiledRepository {
  glob: string;
  matches: (repository: string) => boolean;
  access: RepositoryAccess;
}

export function compileAccessPolicy(settings: AccessControlSettings): AccessPolicy {
  // Longest glob first, so the first match is the most specific; ties in a fixed order.
  const repositories: CompiledRepository[] = Object.entries(settings.repositories)
    .map(([glob, access]) => ({ glob, matches: compileRepositoryGlob(glob), access }))
    .sort((a, b) => b.glob.length - a.glob.length || (a.glob < b.glob ? -1 : 1));
  const groupsByUser = new Map<string, string[]>();
  for (const [group, users] of Object.entries(settings.groups)) {
    for (const user of users) groupsByUser.set(user, [...(groupsByUser.get(user) ?? []), group]);
  }

  return {
    grantsAnonymous: repositories.some((r) => r.access.anonymousPolicy.length > 0),
    groupsOf: (user) => groupsByUser.get(user) ?? [],
    can(identity, action, repository) {
      const decisive = repositories.find((r) => r.matches(repository));
      if (decisive && repositoryAllows(decisive.access, identity, action)) return true;
      return identity !== undefined && ruleAllows(settings.adminPolicy, identity, action);
    },
  };
}

function repositoryAllows(access: RepositoryAccess, identity: Identity | undefined, action: AccessAction): boolean {
  if (identity === undefined) return access.anonymousPolicy.includes(action);
  return access.policies.some((rule) => ruleAllows(rule, identity, action)) || access.defaultPolicy.includes(action);
}

function ruleAllows(rule: AccessRule, identity: Identity, action: AccessAction): boolean {
  if (!rule.actions.includes(action)) return false;
  return rule.users.includes(identity.user) || identity.groups.some((group) => rule.groups.includes(group));
}
