export * from "./unique-name.js";
export * from "./free-port.js";
export * from "./wait-for.js";
export * from "./servers.js";
