export * from "./fixtures.js";
export * from "./receiver.js";
