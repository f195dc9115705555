/**
 * Manifest bytes by digest, in memory, least-recently-used first out. Content-addressed data never
 * changes, so the only invalidation is deletion. Bounded by total bytes.
 */
export class ManifestCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(digest: string): Buffer | undefined {
    const value = this.entries.get(digest);
    if (value) {
      this.entries.delete(digest);
      this.entries.set(digest, value);
    }
    return value;
  }

  set(digest: string, value: Buffer): void {
    if (value.length > this.maxBytes) return;
    this.delete(digest);
    this.entries.set(digest, value);
    this.bytes += value.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.length;
    }
  }

  delete(digest: string): void {
    const value = this.entries.get(digest);
    if (value) {
      this.entries.delete(digest);
      this.bytes -= value.length;
    }
  }
}
