/**
 * zot's `http.accessControl` block, checked with exact paths. Its `repositories` and `groups`
 * are maps whose keys are data (globs, group names), so key-case.ts keeps the block as written
 * and this module matches the config keys inside it case-insensitively itself, as zot does.
 *
 *   repositories: { "<glob>": { policies: [{ users, groups, actions }], defaultPolicy, anonymousPolicy } }
 *   adminPolicy: { users, groups, actions }
 *   groups: { "<group>": { users } }
 *   metrics: { users }
 */
import { describeValue } from "./describe-value.js";
import { isPlainObject, joinPath } from "./key-case.js";
import { ACCESS_ACTIONS, type AccessAction, type AccessControlSettings, type AccessRule, type RepositoryAccess } from "./types.js";
import { problemsAt, stringList } from "./value-rules.js";
import { unknownKeyFinding } from "./zot-keys.js";

export const ACCESS_CONTROL_PATH = "http.accessControl";

interface Findings {
  problems: string[];
  warnings: string[];
}

/** zot's behaviour action that Berth has no use for: accepted, ignored. */
const IGNORED_ACTIONS = new Set(["detectmanifestcollision"]);

export function validateAccessControl(raw: unknown, out: Findings): AccessControlSettings | undefined {
  if (raw === undefined) return undefined;
  const block = objectAt(ACCESS_CONTROL_PATH, raw, out);
  if (!block) return undefined;
  const keys = knownKeys(ACCESS_CONTROL_PATH, block, ["repositories", "adminPolicy", "groups", "metrics"], out);
  const repositories: Record<string, RepositoryAccess> = {};
  const reposPath = joinPath(ACCESS_CONTROL_PATH, "repositories");
  for (const [glob, value] of Object.entries(objectAt(reposPath, keys.repositories, out) ?? {})) {
    const at = `${reposPath}["${glob}"]`;
    if (glob === "") out.problems.push(`${at}: the repository glob must not be empty (examples: "**", "team-a/**")`);
    const policy = repositoryAccess(at, value, out);
    if (policy) repositories[glob] = policy;
  }
  const groups: Record<string, string[]> = {};
  const groupsPath = joinPath(ACCESS_CONTROL_PATH, "groups");
  for (const [name, value] of Object.entries(objectAt(groupsPath, keys.groups, out) ?? {})) {
    const at = `${groupsPath}["${name}"]`;
    const group = objectAt(at, value, out);
    if (group) groups[name] = strings(joinPath(at, "users"), knownKeys(at, group, ["users"], out).users, out);
  }
  const adminPolicy = accessRule(joinPath(ACCESS_CONTROL_PATH, "adminPolicy"), keys.adminPolicy ?? {}, out);
  const metricsPath = joinPath(ACCESS_CONTROL_PATH, "metrics");
  const metrics = objectAt(metricsPath, keys.metrics, out);
  const metricsUsers = metrics ? strings(joinPath(metricsPath, "users"), knownKeys(metricsPath, metrics, ["users"], out).users, out) : undefined;
  return {
    repositories,
    adminPolicy: adminPolicy ?? { users: [], groups: [], actions: [] },
    groups,
    ...(metricsUsers === undefined ? {} : { metricsUsers }),
  };
}

function repositoryAccess(at: string, raw: unknown, out: Findings): RepositoryAccess | undefined {
  const node = objectAt(at, raw, out);
  if (!node) return undefined;
  const keys = knownKeys(at, node, ["policies", "defaultPolicy", "anonymousPolicy"], out);
  const policies: AccessRule[] = [];
  const policiesPath = joinPath(at, "policies");
  if (keys.policies !== undefined && !Array.isArray(keys.policies)) {
    out.problems.push(`${policiesPath}: ${describeValue(keys.policies)} must be an array of policy objects ({ users, groups, actions })`);
  } else {
    for (const [i, item] of (keys.policies ?? []).entries()) {
      const rule = accessRule(`${policiesPath}[${i}]`, item, out);
      if (rule) policies.push(rule);
    }
  }
  return {
    policies,
    defaultPolicy: actions(joinPath(at, "defaultPolicy"), keys.defaultPolicy, out),
    anonymousPolicy: actions(joinPath(at, "anonymousPolicy"), keys.anonymousPolicy, out),
  };
}

function accessRule(at: string, raw: unknown, out: Findings): AccessRule | undefined {
  const node = objectAt(at, raw, out);
  if (!node) return undefined;
  const keys = knownKeys(at, node, ["users", "groups", "actions"], out);
  return {
    users: strings(joinPath(at, "users"), keys.users, out),
    groups: strings(joinPath(at, "groups"), keys.groups, out),
    actions: actions(joinPath(at, "actions"), keys.actions, out),
  };
}

function actions(at: string, raw: unknown, out: Findings): AccessAction[] {
  const found: AccessAction[] = [];
  for (const [i, action] of strings(at, raw, out).entries()) {
    const lower = action.toLowerCase();
    if ((ACCESS_ACTIONS as readonly string[]).includes(lower)) found.push(lower as AccessAction);
    else if (IGNORED_ACTIONS.has(lower)) out.warnings.push(`${at}[${i}]: "${action}" is a zot behaviour switch Berth does not have; ignored`);
    else out.problems.push(`${at}[${i}]: ${describeValue(action)} is not an action (allowed: ${ACCESS_ACTIONS.join(", ")})`);
  }
  return found;
}

function strings(at: string, raw: unknown, out: Findings): string[] {
  if (raw === undefined || raw === null) return [];
  const problems = problemsAt(at, stringList()(raw));
  out.problems.push(...problems);
  return problems.length === 0 ? (raw as string[]) : [];
}

function objectAt(at: string, raw: unknown, out: Findings): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (isPlainObject(raw)) return raw;
  out.problems.push(`${at}: ${describeValue(raw)} must be an object`);
  return undefined;
}

/** The values of `names` (matched case-insensitively); any other key is reported like elsewhere. */
function knownKeys<K extends string>(at: string, node: Record<string, unknown>, names: readonly K[], out: Findings): Partial<Record<K, unknown>> {
  const result: Partial<Record<K, unknown>> = {};
  for (const [key, value] of Object.entries(node)) {
    const name = names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (name === undefined) {
      const finding = unknownKeyFinding(joinPath(at, key), value);
      if ("problem" in finding) out.problems.push(finding.problem);
      else out.warnings.push(finding.warning);
    } else if (name in result) {
      out.problems.push(`${joinPath(at, key)}: same key as ${joinPath(at, name)} (keys are case-insensitive); keep one`);
    } else {
      result[name] = value;
    }
  }
  return result;
}
