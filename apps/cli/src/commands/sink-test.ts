import type { BerthConfig, SinkConfig } from "@berth/config";
import type { Sink } from "@berth/delivery";
import type { BerthEvent } from "@berth/events";
import { type DeliveryVerdict, attemptDelivery, maskHeaders, maskText, maskUrl, sinkSecrets, sinkTestEvent } from "@berth/sink-admin";
import { buildHttpRequest, createHttpSink } from "@berth/sink-http";
import { buildNatsMessage, createNatsSink } from "@berth/sink-nats";
import { type CliIo, EXIT } from "./sink-cli-io.js";

/** The request the sink is about to send, as the operator may see it: secrets masked. */
function describeRequest(event: BerthEvent, sink: SinkConfig): string[] {
  const secrets = sinkSecrets(sink);
  if (sink.type === "http") {
    const req = buildHttpRequest(event, sink);
    const lines = [`${req.method} ${maskUrl(req.url)}`];
    for (const [name, value] of Object.entries(maskHeaders(req.headers, sink))) lines.push(`${name}: ${value}`);
    lines.push("", maskText(req.body, secrets));
    return lines;
  }
  const msg = buildNatsMessage(event, sink);
  const lines = [`PUB ${sink.channel ?? "?"} via ${maskUrl(sink.address)}${sink.jetstream ? " (JetStream, wait for ack)" : ""}`];
  if (msg.headers) {
    const plain: Record<string, string> = {};
    for (const name of msg.headers.keys()) plain[name] = msg.headers.get(name);
    for (const [name, value] of Object.entries(maskHeaders(plain, sink))) lines.push(`${name}: ${value}`);
  }
  lines.push("", maskText(new TextDecoder().decode(msg.payload), secrets));
  return lines;
}

function createSinkFor(sink: SinkConfig): Sink {
  return sink.type === "http" ? createHttpSink(sink) : createNatsSink(sink, { connectionName: "berth-cli-sink-test" });
}

function describeVerdict(v: DeliveryVerdict): { lines: string[]; code: number } {
  if (v.verdict === "delivered") return { lines: [`response: ${v.detail}`, "verdict: delivered"], code: EXIT.ok };
  if (v.verdict === "would-retry") {
    const after = v.retryAfterMs !== undefined ? ` (destination asks to wait ${v.retryAfterMs} ms)` : "";
    return { lines: [`response: ${v.reason}: ${v.message}`, `verdict: would retry${after}`], code: EXIT.wouldRetry };
  }
  const pause = v.pausesSink ? "; the sink would be paused until an operator resumes it" : "";
  return {
    lines: [`response: ${v.reason}: ${v.message}`, `verdict: permanent failure (the event would be dead-lettered${pause})`],
    code: EXIT.permanent,
  };
}

/** `berth sink test NAME`: one sample event through the real sink code, one attempt, no queue. */
export async function runSinkTest(sink: SinkConfig, config: BerthConfig, io: CliIo): Promise<number> {
  const event = sinkTestEvent(config.extensions.events);
  io.out(`sink ${sink.name} (${sink.type}), sample event ${event.id} (${event.type})`);
  io.out("--- request");
  for (const line of describeRequest(event, sink)) io.out(line);
  io.out("--- outcome");
  const target = createSinkFor(sink);
  try {
    const { lines, code } = describeVerdict(await attemptDelivery(target, event, sink));
    for (const line of lines) io.out(line);
    return code;
  } finally {
    await target.close();
  }
}
