export * from "./event.js";
export * from "./event-factory.js";
export { encodeHeaderValue } from "./header-value.js";
export { toStructuredJson } from "./structured-json.js";
export { type HttpMessage, type HttpBinaryOptions, toHttpBinary } from "./http-binary.js";
export { CLOUDEVENTS_JSON, toHttpStructured } from "./http-structured.js";
export { toNatsStructured } from "./nats-structured.js";
export { type NatsMessage, toNatsBinary } from "./nats-binary.js";
export { PAYLOAD_MODES, type PayloadMode, type PayloadOptions, shapePayload, withoutManifest } from "./payload.js";
