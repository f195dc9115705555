export * from "./sink.js";
export * from "./delivery-errors.js";
