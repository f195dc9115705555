/**
 * A throw-away CA with server and client certificates, made with the `openssl` CLI in a temp dir.
 * `issue` adds more (a renewed server certificate, a client certificate per user: its CN is the
 * user name a registry with client-certificate auth sees).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  caCertFile: string;
  serverKey: Buffer;
  serverCert: Buffer;
  ca: Buffer;
  /** server.crt / server.key: CN and SAN 127.0.0.1. */
  serverCertFile: string;
  serverKeyFile: string;
  /** CN berth-client. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A new certificate signed by the CA; `server` ones carry the SAN IP 127.0.0.1. */
  issue(name: string, commonName: string, usage: "server" | "client"): IssuedCertificate;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

// P-256 keys: made in milliseconds where RSA-2048 takes up to a second each on a busy machine.
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

const EXTENSIONS = {
  server: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  client: "extendedKeyUsage=clientAuth\n",
};

function issue(dir: string, name: string, commonName: string, usage: "server" | "client"): IssuedCertificate {
  openssl(dir, "req", ...EC_KEY, "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${commonName}`, "-out", `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), EXTENSIONS[usage]);
  openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
  return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "berth-pki-"));
  openssl(dir, "req", "-x509", ...EC_KEY, "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
    "-days", "2", "-subj", "/CN=berth-test-ca");
  const server = issue(dir, "server", "127.0.0.1", "server");
  const client = issue(dir, "client", "berth-client", "client");
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    caCertFile: join(dir, "ca.crt"),
    ca: read("ca.crt"),
    serverKey: read("server.key"),
    serverCert: read("server.crt"),
    serverCertFile: server.certFile,
    serverKeyFile: server.keyFile,
    clientCertFile: client.certFile,
    clientKeyFile: client.keyFile,
    issue: (name, commonName, usage) => issue(dir, name, commonName, usage),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
