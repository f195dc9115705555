import assert from "node:assert/strict";
import { type KeyObject, createHmac, generateKeyPairSync, sign } from "node:crypto";
import { describe, it } from "node:test";
import { TokenError, publicKeyFromPem, verifyJwt } from "./jwt.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function jwt(alg: string, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64({ alg, typ: "JWT" })}.${b64(claims)}`;
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith("ES") ? sign(hash, Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }) : sign(hash, Buffer.from(input), key);
  return `${input}.${signature.toString("base64url")}`;
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = 1_800_000_000;
const good = { sub: "alice", aud: "berth", exp: NOW + 300, nbf: NOW - 10 };
const opts = { audience: "berth", now: NOW };

function rejects(token: string, key: KeyObject, reason: RegExp): void {
  assert.throws(() => verifyJwt(token, key, opts), (err: unknown) => err instanceof TokenError && reason.test(err.message));
}

describe("verifyJwt", () => {
  it("accepts RS256 and ES256 tokens signed by the configured key, audience as string or list", () => {
    assert.equal(verifyJwt(jwt("RS256", good, rsa.privateKey), rsa.publicKey, opts).sub, "alice");
    assert.equal(verifyJwt(jwt("ES256", { ...good, aud: ["x", "berth"] }, ec.privateKey), ec.publicKey, opts).sub, "alice");
    const pem = ec.publicKey.export({ type: "spki", format: "pem" });
    assert.equal(publicKeyFromPem(pem).asymmetricKeyType, "ec");
  });

  it("refuses another key's signature, a tampered payload, expiry, nbf and a wrong audience", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    rejects(jwt("ES256", good, other.privateKey), ec.publicKey, /bad signature/);
    const [h, , s] = jwt("ES256", good, ec.privateKey).split(".");
    rejects(`${h}.${b64({ ...good, sub: "root" })}.${s}`, ec.publicKey, /bad signature/);
    rejects(jwt("ES256", { ...good, exp: NOW - 61 }, ec.privateKey), ec.publicKey, /expired/);
    rejects(jwt("ES256", { ...good, exp: undefined }, ec.privateKey), ec.publicKey, /no expiry/);
    rejects(jwt("ES256", { ...good, nbf: NOW + 120 }, ec.privateKey), ec.publicKey, /not valid yet/);
    rejects(jwt("ES256", { ...good, aud: "other" }, ec.privateKey), ec.publicKey, /audience/);
  });

  it("refuses alg none, HMAC with the public key as secret, and an algorithm that does not fit the key", () => {
    const unsigned = `${b64({ alg: "none" })}.${b64(good)}.`;
    rejects(unsigned, rsa.publicKey, /"none" is not accepted/);
    const input = `${b64({ alg: "HS256" })}.${b64(good)}`;
    const secret = rsa.publicKey.export({ type: "spki", format: "pem" });
    const hmac = createHmac("sha256", secret).update(input).digest("base64url");
    rejects(`${input}.${hmac}`, rsa.publicKey, /"HS256" is not accepted/);
    rejects(jwt("RS256", good, rsa.privateKey), ec.publicKey, /does not fit/);
    rejects("abc.def", ec.publicKey, /three dot-separated parts/);
  });
});
