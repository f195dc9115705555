/**
 * The connection pools of one HTTP sink: a keep-alive agent pair (plain and TLS), direct or through
 * the sink's `proxy`. Built once per sink and reused by every attempt, so connections (and proxy
 * tunnels) are kept alive across deliveries.
 *
 * Through a proxy, hpagent opens a CONNECT tunnel (RFC 9110 §9.3.6) to the receiver's host:port for
 * https AND plain http targets; TLS to an https receiver runs inside the tunnel, end to end, so the
 * proxy never sees the event. Proxy credentials in the URL's userinfo go only into the
 * `Proxy-Authorization` header of the CONNECT request.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { SinkConfig } from "@berth/config";
import { HttpProxyAgent, HttpsProxyAgent } from "hpagent";

export class HttpSinkConfigError extends Error {
  override readonly name = "HttpSinkConfigError";
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface SinkAgents {
  http: HttpAgent;
  https: HttpsAgent;
  /** `host:port` of the proxy (no userinfo), for messages; undefined when direct. */
  proxyHost?: string;
  destroy(): void;
}

/** `host:port` of a URL without userinfo, path or query: safe to put in an error message. */
export function safeHost(address: string): string {
  try {
    return new URL(address).host;
  } catch {
    return "unparseable address";
  }
}

/**
 * Parsed here rather than by hpagent: Node's invalid-URL error carries the input (with its
 * password) in a property that a logger would print.
 */
function parseProxy(sink: SinkConfig, proxy: string): URL {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new HttpSinkConfigError(`sink ${sink.name}: proxy is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HttpSinkConfigError(`sink ${sink.name}: proxy must be an http:// or https:// URL, not ${url.protocol}`);
  }
  return url;
}

export function createSinkAgents(sink: SinkConfig, tls: TlsMaterial): SinkAgents {
  const maxSockets = Math.max(sink.concurrency, 1);
  let agents: Omit<SinkAgents, "destroy">;
  if (sink.proxy === undefined) {
    agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets, ...tls }),
    };
  } else {
    const proxy = parseProxy(sink, sink.proxy);
    // `timeout` bounds a CONNECT the proxy never answers: the attempt's signal ends the delivery,
    // but only this destroys the pending tunnel request. It also closes idle pooled tunnels.
    const common = { keepAlive: true, maxSockets, proxy, timeout: sink.timeoutMs };
    agents = {
      http: new HttpProxyAgent(common),
      https: new HttpsProxyAgent({ ...common, ...tls }),
      proxyHost: proxy.host,
    };
  }
  return {
    ...agents,
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
