import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A throw-away CA with a server certificate for 127.0.0.1 and a client certificate (openssl CLI). */
export interface TestPki {
  dir: string;
  caCertFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  remove(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir });
}

async function issue(dir: string, name: string, subject: string, ext: string): Promise<void> {
  await openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key",
    "-CAcreateserial", "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "berth-nats-pki-"));
  await openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=berth-nats-test-ca");
  await issue(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await issue(dir, "client", "/CN=berth-nats-client", "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    caCertFile: join(dir, "ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.crt"),
    clientKeyFile: join(dir, "client.key"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
