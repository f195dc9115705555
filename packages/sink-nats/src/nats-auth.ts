import { readFile } from "node:fs/promises";
import type { SinkConfig } from "@berth/config";
import {
  type Authenticator,
  credsAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import type { NodeConnectionOptions } from "@nats-io/transport-node";

/** The security part of the connect options: who we are and how the link is encrypted. */
export interface NatsSecurityOptions {
  authenticator?: Authenticator;
  tls?: NodeConnectionOptions["tls"];
}

/** Thrown when a sink's credentials file cannot be read; names the path, never its content. */
export class NatsCredentialsFileError extends Error {
  override readonly name = "NatsCredentialsFileError";
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super(`cannot read NATS credentials file ${path}`, options);
    this.path = path;
  }
}

/**
 * Builds the authenticator and TLS options for a sink. A `.creds` file (JWT + nkey seed) wins
 * over a token, which wins over username/password, as they are alternatives on the server side.
 * The creds file is read when the sink first connects (its content is never logged).
 */
export async function buildNatsSecurity(sink: SinkConfig): Promise<NatsSecurityOptions> {
  const out: NatsSecurityOptions = {};
  const { username, password, token, file } = sink.credentials;
  if (file) {
    out.authenticator = credsAuthenticator(await readCreds(file));
  } else if (token) {
    out.authenticator = tokenAuthenticator(token);
  } else if (username) {
    out.authenticator = usernamePasswordAuthenticator(username, password ?? "");
  }
  const tls = sink.tls;
  if (tls && (tls.caCertFile || tls.certFile || tls.keyFile)) {
    out.tls = {
      ...(tls.caCertFile ? { caFile: tls.caCertFile } : {}),
      ...(tls.certFile ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
    };
  } else if (sink.address.split(",").some((s) => s.trim().startsWith("tls://"))) {
    // `tls://` asks for an encrypted link with the system's trusted CAs.
    out.tls = {};
  }
  return out;
}

async function readCreds(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new NatsCredentialsFileError(path, { cause: err });
  }
}
