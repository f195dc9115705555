/**
 * The HTTP sink: moves the bytes `buildHttpRequest` produced with got. The queue owns retries, so
 * got's are off; redirects are never followed; connections are kept alive and reused; the
 * attempt's AbortSignal is the only timeout. Connection pools (direct or through the sink's proxy):
 * `http-agents.ts`.
 */
import { readFileSync } from "node:fs";
import type { SinkConfig } from "@berth/config";
import { type DeliveryReceipt, type Sink, TransientDeliveryError } from "@berth/delivery";
import type { BerthEvent } from "@berth/events";
import { type Got, RequestError, got } from "got";
import { buildHttpRequest } from "./build-request.js";
import { checkResponse } from "./classify-response.js";
import { type TlsMaterial, createSinkAgents, safeHost } from "./http-agents.js";

function readTls(sink: SinkConfig): TlsMaterial {
  const tls: TlsMaterial = {};
  if (sink.tls?.caCertFile) tls.ca = readFileSync(sink.tls.caCertFile);
  if (sink.tls?.certFile) tls.cert = readFileSync(sink.tls.certFile);
  if (sink.tls?.keyFile) tls.key = readFileSync(sink.tls.keyFile);
  return tls;
}

export function createHttpSink(sink: SinkConfig): Sink {
  const tls = readTls(sink);
  const agents = createSinkAgents(sink, tls);
  const client: Got = got.extend({
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    agent: { http: agents.http, https: agents.https },
    https: {
      ...(tls.ca ? { certificateAuthority: tls.ca } : {}),
      ...(tls.cert ? { certificate: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
    },
  });
  // Hosts only: never the userinfo of the address or of the proxy URL.
  const target = agents.proxyHost === undefined ? safeHost(sink.address) : `${safeHost(sink.address)} via proxy ${agents.proxyHost}`;
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
      agents.destroy();
    },
  };
}
