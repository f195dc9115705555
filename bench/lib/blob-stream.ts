/**
 * A large blob that never exists in memory: 1 MiB pieces made from one random buffer with the
 * piece number stamped in, hashed as they are produced, so its digest is known when it ends.
 */
import { createHash, type Hash, randomFillSync } from "node:crypto";

const PIECE = 2 ** 20;

export class GeneratedBlob {
  private readonly base = randomFillSync(Buffer.allocUnsafe(PIECE));
  private readonly hash: Hash = createHash("sha256");
  private produced = 0;

  constructor(readonly size: number) {}

  /** The bytes [offset, offset+length), which must follow on from what was produced before. */
  async *range(offset: number, length: number): AsyncGenerator<Buffer> {
    if (offset !== this.produced) throw new Error(`blob stream: asked for ${offset}, produced ${this.produced}`);
    const end = offset + length;
    while (this.produced < end) {
      const pieceIndex = Math.floor(this.produced / PIECE);
      const within = this.produced % PIECE;
      const take = Math.min(PIECE - within, end - this.produced);
      const piece = Buffer.from(this.base);
      piece.writeUInt32BE(pieceIndex, 0);
      const out = piece.subarray(within, within + take);
      this.hash.update(out);
      this.produced += take;
      yield out;
    }
  }

  digest(): string {
    if (this.produced !== this.size) throw new Error(`blob stream: produced ${this.produced} of ${this.size} bytes`);
    return `sha256:${this.hash.digest("hex")}`;
  }
}
