import { type Hash, createHash } from "node:crypto";
import { OciError } from "./errors.js";

/**
 * Digests as in the OCI image-spec "Digests" section: `algorithm ":" encoded`. Only the registered
 * algorithms sha256 and sha512 are accepted; their encoded part is lowercase hex of fixed length.
 */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The canonical `alg:hex` string. */
  value: string;
}

const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(alg: string): alg is DigestAlgorithm {
  return Object.hasOwn(DIGEST_ALGORITHMS, alg);
}

/** Parses a digest; anything malformed or of an unknown algorithm is DIGEST_INVALID (400). */
export function parseDigest(input: string): Digest {
  if (input.length > 200 || !DIGEST_GRAMMAR.test(input)) {
    throw new OciError("DIGEST_INVALID", "malformed digest", { detail: { digest: input.slice(0, 200) } });
  }
  const colon = input.indexOf(":");
  const algorithm = input.slice(0, colon);
  const hex = input.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) {
    throw new OciError("DIGEST_INVALID", "unsupported digest algorithm", { detail: { digest: input } });
  }
  if (hex.length !== DIGEST_ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new OciError("DIGEST_INVALID", "malformed digest", { detail: { digest: input } });
  }
  return { algorithm, hex, value: input };
}

export function isDigest(input: string): boolean {
  // A tag never holds ':': answered without building (and throwing) an error, on every GET by tag.
  if (!input.includes(":")) return false;
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

/** The digest of an in-memory buffer (manifests; blobs are hashed while streaming). */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

/**
 * Hashes a stream chunk by chunk so a blob is verified without being held in memory.
 * `update` as bytes arrive, then `verify(expected)` once the last byte is written.
 */
export class DigestVerifier {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private bytes = 0;
  private result: string | undefined;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  get size(): number {
    return this.bytes;
  }

  digest(): string {
    this.result ??= `${this.algorithm}:${this.hash.digest("hex")}`;
    return this.result;
  }

  /** Throws DIGEST_INVALID when the content does not match `expected`. */
  verify(expected: Digest): void {
    const actual = this.digest();
    if (actual !== expected.value) {
      throw new OciError("DIGEST_INVALID", "provided digest did not match uploaded content", {
        detail: { expected: expected.value, actual },
      });
    }
  }
}
