export * from "./unique-name.js";
export * from "./free-port.js";
export * from "./wait-for.js";
export * from "./servers.js";
export * from "./sink-config.js";
export * from "./redis-keys.js";
export * from "./seeded-random.js";
export * from "./redis-cpu.js";
