/**
 * Verifies a JWT (RFC 7519) signed with an asymmetric key, as the Docker registry token spec's
 * token services issue them. Only the RSxxx, PSxxx and ESxxx algorithms are accepted, and the algorithm must
 * fit the configured key: `none` and HMAC are refused, so a token cannot pick a weaker check
 * (the classic "alg confusion" of using the public key as an HMAC secret).
 */
import { type KeyObject, X509Certificate, constants, createPublicKey, verify } from "node:crypto";

export class TokenError extends Error {
  override readonly name = "TokenError";
}

/** The registered claims Berth reads, plus everything else as sent. */
export interface JwtClaims extends Record<string, unknown> {
  sub?: string;
  aud?: string | string[];
  exp: number;
  nbf?: number;
  iat?: number;
}

export interface VerifyOptions {
  /** Required audience: the registry's `service`. */
  audience: string;
  /** Seconds since the epoch; default now. */
  now?: number;
  /** Allowed clock difference between the token service and the registry, in seconds. */
  leewaySeconds?: number;
}

const ALGORITHMS: Record<string, { hash: string; keyType: string; pss?: boolean; ieee?: boolean }> = {
  RS256: { hash: "sha256", keyType: "rsa" },
  RS384: { hash: "sha384", keyType: "rsa" },
  RS512: { hash: "sha512", keyType: "rsa" },
  PS256: { hash: "sha256", keyType: "rsa", pss: true },
  PS384: { hash: "sha384", keyType: "rsa", pss: true },
  PS512: { hash: "sha512", keyType: "rsa", pss: true },
  ES256: { hash: "sha256", keyType: "ec", ieee: true },
  ES384: { hash: "sha384", keyType: "ec", ieee: true },
  ES512: { hash: "sha512", keyType: "ec", ieee: true },
};

/** The public key of a PEM certificate, or a PEM public key as is. */
export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  const text = pem.toString();
  return text.includes("BEGIN CERTIFICATE") ? new X509Certificate(text).publicKey : createPublicKey(text);
}

export function verifyJwt(token: string, key: KeyObject, options: VerifyOptions): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("not a JWT (three dot-separated parts expected)");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart, "header");
  const alg = typeof header.alg === "string" ? header.alg : "";
  const spec = ALGORITHMS[alg];
  if (!spec) throw new TokenError(`signature algorithm ${JSON.stringify(alg)} is not accepted (allowed: ${Object.keys(ALGORITHMS).join(", ")})`);
  const keyType = key.asymmetricKeyType === "rsa-pss" ? "rsa" : key.asymmetricKeyType;
  if (keyType !== spec.keyType) throw new TokenError(`${alg} does not fit the configured ${key.asymmetricKeyType} key`);
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, "base64url");
  const verifyKey = spec.pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : spec.ieee ? { key, dsaEncoding: "ieee-p1363" as const } : key;
  if (!verify(spec.hash, signed, verifyKey, signature)) throw new TokenError("bad signature");
  const claims = decodeJson(payloadPart, "payload");
  checkTimes(claims, options);
  const audiences = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.includes(options.audience)) throw new TokenError(`token audience is not ${JSON.stringify(options.audience)}`);
  return claims as JwtClaims;
}

function checkTimes(claims: Record<string, unknown>, options: VerifyOptions): void {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const leeway = options.leewaySeconds ?? 60;
  if (typeof claims.exp !== "number") throw new TokenError("token has no expiry (exp)");
  if (claims.exp + leeway <= now) throw new TokenError("token expired");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || claims.nbf - leeway > now)) {
    throw new TokenError("token not valid yet (nbf)");
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TokenError(`token ${what} is not a JSON object`);
}
