export * from "./catalog.js";
export * from "./connections.js";
export * from "./sink-state.js";
export * from "./redis-persistence.js";
