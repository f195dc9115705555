/**
 * The HTTP sink: moves the bytes `buildHttpRequest` produced with got. The queue owns retries, so
 * got's are off; redirects are never followed; connections are kept alive and reused; the
 * attempt's AbortSignal is the only timeout.
 */
import { readFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { SinkConfig } from "@berth/config";
import { type DeliveryReceipt, type Sink, TransientDeliveryError } from "@berth/delivery";
import type { BerthEvent } from "@berth/events";
import { type Got, RequestError, got } from "got";
import { buildHttpRequest } from "./build-request.js";
import { checkResponse } from "./classify-response.js";

export class HttpSinkConfigError extends Error {
  override readonly name = "HttpSinkConfigError";
}

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readTls(sink: SinkConfig): TlsMaterial {
  const tls: TlsMaterial = {};
  if (sink.tls?.caCertFile) tls.ca = readFileSync(sink.tls.caCertFile);
  if (sink.tls?.certFile) tls.cert = readFileSync(sink.tls.certFile);
  if (sink.tls?.keyFile) tls.key = readFileSync(sink.tls.keyFile);
  return tls;
}

/** `host:port` of the sink without userinfo, path or query: safe to put in an error message. */
function safeTarget(address: string): string {
  try {
    return new URL(address).host;
  } catch {
    return "receiver";
  }
}

export function createHttpSink(sink: SinkConfig): Sink {
  if (sink.proxy !== undefined) {
    // Sending around a proxy the operator asked for could leak events past a network policy.
    throw new HttpSinkConfigError(`sink ${sink.name}: proxy is not supported by the HTTP sink yet`);
  }
  const tls = readTls(sink);
  const maxSockets = Math.max(sink.concurrency, 1);
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets, ...tls }),
  };
  const client: Got = got.extend({
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    agent: agents,
    https: {
      ...(tls.ca ? { certificateAuthority: tls.ca } : {}),
      ...(tls.cert ? { certificate: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
    },
  });
  const target = safeTarget(sink.address);
  let closed = false;

  return {
    name: sink.name,
    async deliver(event: BerthEvent, { signal }): Promise<DeliveryReceipt> {
      if (closed) throw new TransientDeliveryError("closed", `sink ${sink.name} is closed`);
      if (signal.aborted) throw new TransientDeliveryError("aborted", "attempt aborted before sending");
      const request = buildHttpRequest(event, sink);
      let status: number;
      let retryAfter: string | undefined;
      try {
        const response = await client(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal,
        });
        status = response.statusCode;
        retryAfter = response.headers["retry-after"];
      } catch (err) {
        // Classified by what happened, never by message text; messages name no credentials.
        if (signal.aborted) throw new TransientDeliveryError("timeout", `no answer from ${target} before the attempt ended`);
        const code = err instanceof RequestError ? err.code : "ERR_UNKNOWN";
        throw new TransientDeliveryError("network", `request to ${target} failed: ${code}`);
      }
      checkResponse(status, retryAfter);
      return { detail: `HTTP ${status}` };
    },
    async close() {
      if (closed) return;
      closed = true;
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
