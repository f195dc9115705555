import { Counter, Histogram, type Registry } from "@berth/telemetry";

/** Prometheus series of the registry's HTTP side. */
export interface HttpMetrics {
  observe(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
  /** A connection closed by a limit (server-limits.ts). */
  connectionCut(reason: string): void;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const requests = new Counter({
    name: "berth_registry_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const bytesIn = new Counter({
    name: "berth_registry_received_bytes_total",
    help: "Payload bytes received (blobs and manifests) by route",
    labelNames: ["route"],
    registers: [registry],
  });
  const bytesOut = new Counter({
    name: "berth_registry_sent_bytes_total",
    help: "Payload bytes sent (blobs, manifests, listings) by route",
    labelNames: ["route"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "berth_registry_request_duration_seconds",
    help: "Request latency by route and method",
    labelNames: ["route", "method"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const cuts = new Counter({
    name: "berth_registry_connections_cut_total",
    help: "Connections closed because the client did not keep up: slow-body (request body under the minimum rate), stalled (nothing moved)",
    labelNames: ["reason"],
    registers: [registry],
  });
  return {
    connectionCut(reason) {
      cuts.inc({ reason });
    },
    observe(route, method, status, seconds, inBytes, outBytes) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, method }, seconds);
      if (inBytes > 0) bytesIn.inc({ route }, inBytes);
      if (outBytes > 0) bytesOut.inc({ route }, outBytes);
    },
  };
}
