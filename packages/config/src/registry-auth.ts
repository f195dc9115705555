/**
 * The registry's security settings (zot's `http.tls`, `http.auth`, `http.accessControl`),
 * resolved from the schema's values: files read once, partial setups refused rather than
 * quietly leaving a protection off, secrets taken from their files.
 */
import { validateAccessControl } from "./access-control-validation.js";
import { readConfigFile, readSecretFile, resolvePath } from "./files.js";
import type { AccessControlSettings, BearerSettings, BerthConfig, LdapSettings, ListenerTls } from "./types.js";

export interface ResolveContext {
  env: Record<string, string | undefined>;
  baseDir: string;
  problems: string[];
  warnings: string[];
}

/** The schema's values under `http` this module reads (input spellings, defaults filled in). */
export interface RegistryAuthValues {
  tls: { cert?: string; key?: string; cacert?: string };
  auth: {
    htpasswd: { path?: string };
    bearer: { realm?: string; service?: string; cert?: string };
    ldap: LdapValues;
  };
}

interface LdapValues {
  address?: string;
  port?: number;
  insecure: boolean;
  startTLS: boolean;
  skipVerify: boolean;
  subtreeSearch: boolean;
  baseDN?: string;
  userAttribute?: string;
  userGroupAttribute?: string;
  userFilter?: string;
  credentialsFile?: string;
  bindDN?: string;
  bindPassword?: string;
  cacert?: string;
}

/** What this module resolves; how password checks run under attack is added by parse-config. */
type RegistryAuth = {
  auth: Omit<BerthConfig["http"]["auth"], "bcryptWorkers" | "failedAttempts">;
  accessControl?: BerthConfig["http"]["accessControl"];
};

export function resolveRegistryAuth(
  http: RegistryAuthValues,
  accessControlRaw: unknown,
  ldapWritten: Record<string, unknown>,
  ctx: ResolveContext,
): RegistryAuth {
  const htpasswd = readableFile("http.auth.htpasswd.path", http.auth.htpasswd.path, ctx);
  const { bearer } = resolveBearer(http.auth.bearer, ctx);
  const ldap = Object.keys(ldapWritten).length > 0 ? resolveLdap(http.auth.ldap, ctx) : undefined;
  const authConfigured = htpasswd !== undefined || bearer !== undefined || ldap !== undefined || http.tls.cacert !== undefined;
  return {
    auth: {
      ...(htpasswd === undefined ? {} : { htpasswd: { path: htpasswd } }),
      ...(bearer === undefined ? {} : { bearer }),
      ...(ldap === undefined ? {} : { ldap }),
    },
    ...resolveAccessControl(accessControlRaw, authConfigured, ctx),
  };
}

const LDAP = "http.auth.ldap";

function resolveLdap(ldap: LdapValues, ctx: ResolveContext): LdapSettings | undefined {
  const before = ctx.problems.length;
  for (const key of ["address", "baseDN", "userAttribute"] as const) {
    if (!ldap[key]) ctx.problems.push(`${LDAP}.${key}: required when ${LDAP} is set`);
  }
  if (ldap.insecure && ldap.startTLS) ctx.problems.push(`${LDAP}: insecure and startTLS contradict each other; set one`);
  const credentials = ldapCredentials(ldap, ctx);
  const caCertFile = readableFile(`${LDAP}.cacert`, ldap.cacert, ctx);
  if (ctx.problems.length > before || !ldap.address || !ldap.baseDN || !ldap.userAttribute) return undefined;
  // zot's transport choice: plain only when `insecure`, else StartTLS when asked, else LDAPS.
  const scheme = ldap.insecure || ldap.startTLS ? "ldap" : "ldaps";
  const port = ldap.port ?? (scheme === "ldaps" ? 636 : 389);
  return {
    url: `${scheme}://${ldap.address.includes(":") ? `[${ldap.address}]` : ldap.address}:${port}`,
    startTLS: ldap.startTLS,
    skipVerify: ldap.skipVerify,
    ...(caCertFile === undefined ? {} : { caCertFile }),
    baseDN: ldap.baseDN,
    subtreeSearch: ldap.subtreeSearch,
    userAttribute: ldap.userAttribute,
    ...(ldap.userGroupAttribute ? { userGroupAttribute: ldap.userGroupAttribute } : {}),
    ...(ldap.userFilter ? { userFilter: ldap.userFilter } : {}),
    ...credentials,
  };
}

/** The search account: zot's credentialsFile (JSON `{ bindDN, bindPassword }`) or inline keys. */
function ldapCredentials(ldap: LdapValues, ctx: ResolveContext): { bindDN?: string; bindPassword?: string } {
  if (ldap.credentialsFile === undefined) {
    if ((ldap.bindDN === undefined) !== (ldap.bindPassword === undefined)) {
      ctx.problems.push(`${LDAP}: set both bindDN and bindPassword (or credentialsFile), or neither for an anonymous search`);
    }
    return { ...(ldap.bindDN ? { bindDN: ldap.bindDN } : {}), ...(ldap.bindPassword ? { bindPassword: ldap.bindPassword } : {}) };
  }
  if (ldap.bindDN !== undefined || ldap.bindPassword !== undefined) {
    ctx.problems.push(`${LDAP}: credentialsFile and bindDN/bindPassword both set; keep one`);
  }
  const at = `${LDAP}.credentialsFile`;
  const read = readSecretFile(resolvePath(ctx.baseDir, ldap.credentialsFile));
  if (!read.ok) {
    ctx.problems.push(`${at}: ${read.problem}`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
  } catch {
    parsed = undefined;
  }
  const { bindDN, bindPassword } = (parsed ?? {}) as { bindDN?: unknown; bindPassword?: unknown };
  if (typeof bindDN !== "string" || typeof bindPassword !== "string" || bindDN === "" || bindPassword === "") {
    // The content is a secret: say what is wrong, never what it holds.
    ctx.problems.push(`${at}: must hold a JSON object with non-empty bindDN and bindPassword strings (content not shown)`);
    return {};
  }
  return { bindDN, bindPassword };
}

/** The absolute path when the file is readable; a problem at `at` otherwise. */
export function readableFile(at: string, path: unknown, ctx: ResolveContext): string | undefined {
  if (typeof path !== "string" || path === "") return undefined;
  const file = resolvePath(ctx.baseDir, path);
  const read = readConfigFile(file);
  if (read.ok) return file;
  ctx.problems.push(`${at}: ${read.problem}`);
  return undefined;
}

export function resolveListenerTls(tls: RegistryAuthValues["tls"], ctx: ResolveContext): { tls?: ListenerTls } {
  const certFile = readableFile("http.tls.cert", tls.cert, ctx);
  const keyFile = readableFile("http.tls.key", tls.key, ctx);
  const caCertFile = readableFile("http.tls.cacert", tls.cacert, ctx);
  // Half a TLS setup must not fall back to plain HTTP.
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    ctx.problems.push("http.tls: set both cert and key (a certificate without its key, or the reverse, cannot serve HTTPS)");
  }
  if (tls.cacert !== undefined && tls.cert === undefined) {
    ctx.problems.push("http.tls.cacert: client certificates need TLS: set http.tls.cert and http.tls.key too");
  }
  if (certFile === undefined || keyFile === undefined) return {};
  return { tls: { certFile, keyFile, ...(caCertFile === undefined ? {} : { caCertFile }) } };
}

function resolveBearer(bearer: RegistryAuthValues["auth"]["bearer"], ctx: ResolveContext): { bearer?: BearerSettings } {
  const set = [bearer.realm, bearer.service, bearer.cert].filter((v) => v !== undefined).length;
  if (set === 0) return {};
  // zot enables bearer auth only when all three are set; Berth refuses the partial block rather
  // than silently running without the authentication the operator meant to turn on.
  if (set < 3) {
    ctx.problems.push("http.auth.bearer: set realm, service and cert together (the token service URL, this registry's service name, the token signing certificate)");
    return {};
  }
  const certFile = readableFile("http.auth.bearer.cert", bearer.cert, ctx);
  if (certFile === undefined || !bearer.realm || !bearer.service) return {};
  return { bearer: { realm: bearer.realm, service: bearer.service, certFile } };
}

function resolveAccessControl(raw: unknown, authConfigured: boolean, ctx: ResolveContext): { accessControl?: AccessControlSettings } {
  const accessControl = validateAccessControl(raw, ctx);
  if (!accessControl) return {};
  if (!authConfigured) {
    ctx.warnings.push(
      "http.accessControl: no authentication is configured (http.auth.htpasswd, http.auth.ldap, http.auth.bearer or http.tls.cacert), so only anonymousPolicy grants anything",
    );
  }
  return { accessControl };
}

