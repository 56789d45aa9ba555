// The fast-check seed of a test run: read by scripts/run-tests.mjs and by scripts/fast-check-preload.mjs.

export const SEED_ENV = "HERALD_FC_SEED";

/** A fast-check seed (a 32-bit signed integer) from its decimal text. */
export function parseSeed(text) {
  const trimmed = text.trim();
  const seed = /^-?\d{1,10}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isInteger(seed) || seed < -0x80000000 || seed > 0x7fffffff) {
    throw new Error(
      `${SEED_ENV} must be an integer from -2147483648 to 2147483647, got ${JSON.stringify(text)}`,
    );
  }
  return seed;
}
