import { createHash } from 'node:crypto';

/**
 * A small seeded PRNG (mulberry32), so a data set is the same for the same seed: the benchmarks
 * measure the same events from run to run. Not for anything secret.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: string) {
    this.state = createHash('sha256').update(seed).digest().readUInt32BE(0);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** `length` hex characters. */
  hex(length: number): string {
    let text = '';
    while (text.length < length) text += Math.floor(this.next() * 4_294_967_296).toString(16).padStart(8, '0');
    return text.slice(0, length);
  }

  /** A version-4-shaped UUID from this generator (deterministic, unlike randomUUID). */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
