/**
 * mulberry32: a small, fast PRNG that gives the same sequence for the same seed on every machine,
 * so a randomized test's failing case can be replayed from the seed it prints. Not for anything
 * secret. Answers floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
