export { createNatsSink, NatsSinkConfigError, type NatsSinkOptions } from "./create-nats-sink.js";
export { NatsCredentialsFileError } from "./nats-auth.js";
export { buildNatsMessage, type NatsMessage } from "./nats-message.js";
