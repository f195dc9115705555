/**
 * A real OpenLDAP `slapd` (Debian's package) on a free loopback port, with a throw-away mdb
 * database under `dc=berth,dc=test` loaded by `slapadd`: `ou=users` holds the given people
 * (inetOrgPerson; their groups in the multi-valued `ou` attribute) and one service account
 * for the search bind. Stopped by PID.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { portOpen } from "./servers.js";
import { waitFor } from "./wait-for.js";

export const LDAP_BASE_DN = "dc=berth,dc=test";
export const LDAP_USERS_DN = `ou=users,${LDAP_BASE_DN}`;

export interface LdapPerson {
  uid: string;
  password: string;
  groups?: string[];
}

export interface LdapServerOptions {
  /** Also listen for LDAPS (and allow StartTLS) with this certificate. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface LdapServer {
  url: string;
  port: number;
  /** `ldaps://127.0.0.1:<port>` when started with `tls`. */
  ldapsUrl?: string;
  ldapsPort?: number;
  /** Service account allowed to search `ou=users`. */
  bindDN: string;
  bindPassword: string;
  dir: string;
  stop(): Promise<void>;
}

const SCHEMAS = ["core", "cosine", "inetorgperson"];

function ldif(people: LdapPerson[], bindPassword: string): string {
  const entries = [
    `dn: ${LDAP_BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: berth\no: berth test`,
    `dn: ${LDAP_USERS_DN}\nobjectClass: organizationalUnit\nou: users`,
    `dn: cn=search,${LDAP_BASE_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: search\nsn: search\nuserPassword: ${bindPassword}`,
    ...people.map((p) =>
      [
        `dn: uid=${p.uid},${LDAP_USERS_DN}`,
        "objectClass: inetOrgPerson",
        `uid: ${p.uid}`,
        `cn: ${p.uid}`,
        `sn: ${p.uid}`,
        `userPassword: ${p.password}`,
        ...(p.groups ?? []).map((g) => `ou: ${g}`),
      ].join("\n"),
    ),
  ];
  return `${entries.join("\n\n")}\n`;
}

export async function startLdapServer(people: LdapPerson[], options: LdapServerOptions = {}): Promise<LdapServer> {
  const dir = mkdtempSync(join(tmpdir(), "berth-ldap-"));
  const port = await freePort();
  const ldapsPort = options.tls ? await freePort() : undefined;
  const tlsLines = options.tls
    ? [`TLSCACertificateFile ${options.tls.caFile}`, `TLSCertificateFile ${options.tls.certFile}`, `TLSCertificateKeyFile ${options.tls.keyFile}`]
    : [];
  const bindPassword = "search-secret";
  mkdirSync(join(dir, "db"));
  const conf = join(dir, "slapd.conf");
  writeFileSync(
    conf,
    [
      ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
      `pidfile ${join(dir, "slapd.pid")}`,
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      ...tlsLines,
      // Anyone may bind; only the service account reads entries (and nobody reads passwords).
      "access to attrs=userPassword by anonymous auth by * none",
      `access to * by dn.exact="cn=search,${LDAP_BASE_DN}" read by self read by * none`,
      "database mdb",
      `suffix "${LDAP_BASE_DN}"`,
      `rootdn "cn=admin,${LDAP_BASE_DN}"`,
      `directory ${join(dir, "db")}`,
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "data.ldif"), ldif(people, bindPassword));
  execFileSync("slapadd", ["-f", conf, "-l", join(dir, "data.ldif")], { stdio: "pipe" });
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (so the PID is the server's) without debug output.
  const ldapsUrl = ldapsPort === undefined ? undefined : `ldaps://127.0.0.1:${ldapsPort}`;
  const listeners = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(" ");
  const child: ChildProcess = spawn("slapd", ["-f", conf, "-h", listeners, "-d", "0"], { stdio: "ignore" });
  child.once("error", () => {});
  await waitFor(`slapd on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode} (is the slapd package installed?)`);
    return portOpen(port);
  }, { timeoutMs: 15_000 });
  return {
    url,
    port,
    ...(ldapsUrl ? { ldapsUrl, ldapsPort } : {}),
    bindDN: `cn=search,${LDAP_BASE_DN}`,
    bindPassword,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
