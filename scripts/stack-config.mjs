// What the stack scripts read from the example config: the sinks the demo consumer stands for.
import { readFileSync } from "node:fs";

export const DEFAULT_CONFIG = "packages/config/examples/local-stack.json";

export function readStackConfig(root, configPath) {
  return JSON.parse(readFileSync(new URL(configPath, `file://${root}/`), "utf8"));
}

/** The demo consumer's flags: the HTTP sink's port and credentials, the NATS sink's subject. */
export function demoConsumerArgs(config) {
  const httpSink = config.extensions.events.sinks.find((s) => s.type === "http");
  const natsSink = config.extensions.events.sinks.find((s) => s.type === "nats");
  return [
    "--port", new URL(httpSink.address).port,
    "--user", httpSink.credentials?.username ?? "",
    "--password", httpSink.credentials?.password ?? "",
    "--nats", natsSink.address,
    "--subject", natsSink.channel,
  ];
}
