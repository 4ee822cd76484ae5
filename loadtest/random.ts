/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/**
 * mulberry32: a small seeded generator, so a run with `--seed` renders the same payloads and
 * picks the same keys again. Not cryptographic; plenty for load shapes.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max], both included. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
