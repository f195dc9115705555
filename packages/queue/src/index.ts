export * from "./catalog.js";
export * from "./connections.js";
export * from "./sink-state.js";
export * from "./redis-persistence.js";
export * from "./replica-wait.js";
export * from "./ordering-keys.js";
export * from "./ordering-status.js";
export * from "./event-log.js";
