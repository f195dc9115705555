export * from "./types.js";
export * from "./defaults.js";
export { ConfigError } from "./config-error.js";
export { parseConfig, type Env, type ParseOptions, type ParsedConfig } from "./parse-config.js";
export { loadConfig, type LoadOptions } from "./load-config.js";
export { CONFIG_ENV, CONFIG_OPTION, configPathFrom, isParseArgsError } from "./config-path.js";
export { MASK, formatConfig, maskConfig, maskUrlPassword } from "./mask.js";
export { formatDuration, parseDuration } from "./duration.js";
export { defaultSinkName, sinkEnvName } from "./sink-name.js";
export { CONFIG_SCHEMA } from "./schema.js";
export { REDIS_ENV, clusterSafePrefix } from "./redis-topology.js";
export {
  type ConfigReloadOptions,
  type ConfigReloader,
  type ReloadLogger,
  changesNeedingRestart,
  reloadConfigOnSighup,
} from "./reload.js";
