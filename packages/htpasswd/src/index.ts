export { HtpasswdError, parseHtpasswd, type HtpasswdEntries } from "./htpasswd-file.js";
export { type Htpasswd, type HtpasswdOptions, createHtpasswd, loadHtpasswd } from "./htpasswd.js";
export { type BcryptPool, type BcryptPoolOptions, DEFAULT_POOL_SIZE, HashPoolBusyError, PasswordCheckAbandoned, createBcryptPool } from "./bcrypt-pool.js";
export { type FailureLimiter, type FailureLimiterOptions, createFailureLimiter } from "./failure-limiter.js";
export { parseBasicAuth } from "./basic-credentials.js";
