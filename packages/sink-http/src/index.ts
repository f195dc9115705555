export { type HttpRequest, type HttpSinkSettings, USER_AGENT, buildHttpRequest } from "./build-request.js";
export { checkResponse } from "./classify-response.js";
export { parseRetryAfter } from "./retry-after.js";
export { signingKey, webhookSignature } from "./webhook-signature.js";
export { HttpSinkConfigError } from "./http-agents.js";
export { createHttpSink } from "./http-sink.js";
