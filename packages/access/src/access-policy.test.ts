import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessControlSettings } from "@berth/config";
import { compileAccessPolicy } from "./access-policy.js";
import { createAuthorizer } from "./authorizer.js";
import type { Identity } from "./identity.js";
import { grantsFromClaim } from "./token-access.js";

const SETTINGS: AccessControlSettings = {
  repositories: {
    "**": { policies: [], defaultPolicy: ["read"], anonymousPolicy: [] },
    "team-a/**": {
      policies: [
        { users: ["alice"], groups: [], actions: ["read", "create", "update", "delete"] },
        { users: [], groups: ["readers"], actions: ["read"] },
      ],
      defaultPolicy: [],
      anonymousPolicy: [],
    },
    "public/**": { policies: [], defaultPolicy: ["read", "create"], anonymousPolicy: ["read"] },
  },
  adminPolicy: { users: ["root"], groups: ["ops"], actions: ["read", "create", "update", "delete"] },
  groups: { readers: ["rita"], ops: ["olga"] },
};

const policy = compileAccessPolicy(SETTINGS);
const who = (user: string): Identity => ({ user, groups: policy.groupsOf(user) });

describe("access policy (zot's accessControl semantics)", () => {
  it("the longest matching glob decides: team-a/** overrides ** for its repositories", () => {
    assert.equal(policy.can(who("alice"), "update", "team-a/app"), true);
    assert.equal(policy.can(who("alice"), "create", "team-b/app"), false);
    // bob only has ** 's defaultPolicy, which team-a/** does not inherit.
    assert.equal(policy.can(who("bob"), "read", "team-b/app"), true);
    assert.equal(policy.can(who("bob"), "read", "team-a/app"), false);
    assert.equal(policy.can(who("alice"), "read", "team-a"), true, "team-a/** covers team-a itself");
  });

  it("groups from accessControl.groups grant their policies' actions", () => {
    assert.deepEqual(policy.groupsOf("rita"), ["readers"]);
    assert.equal(policy.can(who("rita"), "read", "team-a/app"), true);
    assert.equal(policy.can(who("rita"), "create", "team-a/app"), false);
  });

  it("anonymousPolicy applies only without credentials, defaultPolicy only with them", () => {
    assert.equal(policy.can(undefined, "read", "public/x"), true);
    assert.equal(policy.can(undefined, "create", "public/x"), false);
    assert.equal(policy.can(who("bob"), "create", "public/x"), true);
    assert.equal(policy.can(undefined, "read", "team-b/app"), false);
    assert.equal(policy.grantsAnonymous, true);
  });

  it("adminPolicy allows its users and groups everywhere", () => {
    assert.equal(policy.can(who("root"), "delete", "team-a/app"), true);
    assert.equal(policy.can(who("olga"), "delete", "anything/else"), true);
    assert.equal(policy.can(who("bob"), "delete", "team-b/app"), false);
  });

  it("denies everything on a repository no glob matches, except to admins", () => {
    const narrow = compileAccessPolicy({ ...SETTINGS, repositories: { "team-a/**": SETTINGS.repositories["team-a/**"]! } });
    assert.equal(narrow.can(who("alice"), "read", "other"), false);
    assert.equal(narrow.can(who("root"), "read", "other"), true);
  });
});

describe("authorizer", () => {
  it("without accessControl: any authenticated user may do anything; anonymous only when no auth is configured", () => {
    const withAuth = createAuthorizer({ authenticationConfigured: true });
    assert.equal(withAuth.can({ user: "u", groups: [] }, "delete", "x"), true);
    assert.equal(withAuth.can(undefined, "read", "x"), false);
    assert.equal(withAuth.admitsAnonymousPing(), false);
    const open = createAuthorizer({ authenticationConfigured: false });
    assert.equal(open.can(undefined, "delete", "x"), true);
    assert.equal(open.admitsAnonymousPing(), true);
    const anonymousReads = createAuthorizer({ accessControl: SETTINGS, authenticationConfigured: true });
    assert.equal(anonymousReads.admitsAnonymousPing(), false, "/v2/ challenges even where anonymousPolicy opens repositories");
  });

  it("a bearer token's access claim decides, not accessControl", () => {
    const auth = createAuthorizer({ accessControl: SETTINGS, authenticationConfigured: true });
    const grants = grantsFromClaim([
      { type: "repository", name: "team-b/app", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    const bearer: Identity = { user: "bob", groups: [], grants };
    assert.equal(auth.can(bearer, "create", "team-b/app"), true);
    assert.equal(auth.can(bearer, "update", "team-b/app"), true);
    assert.equal(auth.can(bearer, "delete", "team-b/app"), false);
    assert.equal(auth.can(bearer, "read", "public/x"), false, "no claim for public/x, whatever defaultPolicy says");
    assert.equal(auth.canListCatalog(bearer), true);
    assert.equal(auth.canListCatalog({ user: "bob", groups: [], grants: grantsFromClaim([]) }), false);
  });
});
