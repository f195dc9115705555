export type { AccessAction, AccessGrants, Identity } from "./identity.js";
export { type AccessPolicy, compileAccessPolicy } from "./access-policy.js";
export { type Authorizer, type AuthorizerOptions, createAuthorizer } from "./authorizer.js";
export { type JwtClaims, TokenError, type VerifyOptions, publicKeyFromPem, verifyJwt } from "./jwt.js";
export { TOKEN_ACTIONS, grantsFromClaim } from "./token-access.js";
