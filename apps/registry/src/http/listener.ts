/**
 * The registry's listening server: plain HTTP, or HTTPS when TLS material is given (zot's
 * `http.tls`). Kept apart from the request handling so how the server is made (timeouts, TLS)
 * changes in one place.
 */
import { type IncomingMessage, type ServerOptions, type ServerResponse, createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { SecureContextOptions } from "node:tls";

export type RegistryServer = HttpServer | HttpsServer;

/** PEM contents of the listener's certificate, key and, for client-certificate auth, CA bundle. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Set = every client must present a certificate chaining to it (zot: RequireAndVerifyClientCert). */
  ca?: Buffer;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createRegistryServer(options: ServerOptions, handler: RequestHandler, tls?: TlsMaterial): RegistryServer {
  if (!tls) return createHttpServer(options, handler);
  return createHttpsServer(
    {
      ...options,
      ...secureContext(tls),
      // TLS 1.0/1.1 are deprecated (RFC 8996).
      minVersion: "TLSv1.2",
      // With a CA bundle a client without a valid certificate fails the handshake, as in zot.
      requestCert: tls.ca !== undefined,
      rejectUnauthorized: tls.ca !== undefined,
    },
    handler,
  );
}

/**
 * Swaps certificate and key (and CA bundle) for new connections; open connections keep theirs.
 * A renewal therefore needs no restart. Throws when the material is unusable (key does not match).
 */
export function reloadTls(server: RegistryServer, tls: TlsMaterial): void {
  if (!("setSecureContext" in server)) throw new Error("the registry listens without TLS; nothing to reload");
  server.setSecureContext(secureContext(tls));
}

function secureContext(tls: TlsMaterial): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) };
}
