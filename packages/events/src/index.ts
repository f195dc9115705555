export * from "./event.js";
export * from "./event-factory.js";
