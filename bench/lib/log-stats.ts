// Small measurement helpers for bench/log.ts.

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Percentiles (ms, rounded to µs) of a set of latencies in ms. */
export function percentiles(latenciesMs: number[]): Percentiles {
  if (latenciesMs.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(latenciesMs).sort();
  const at = (q: number): number =>
    round3(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { p50: at(0.5), p99: at(0.99), max: round3(sorted[sorted.length - 1]!) };
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function perSecond(count: number, elapsedMs: number): number {
  return Math.round((count / elapsedMs) * 1000);
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}
