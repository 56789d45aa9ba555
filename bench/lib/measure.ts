// Shared timing helper for the benchmarks: throughput over a tight loop, then per-operation latency samples.

export interface Measurement {
  readonly name: string;
  readonly opsPerSec: number;
  readonly p50us: number;
  readonly p99us: number;
}

export interface MeasureOptions {
  /** Operations in the throughput loop (also the number of latency samples, capped at 50 000). */
  readonly iterations: number;
  /** Untimed calls first, so the JIT has settled (default: iterations / 10, at least 100). */
  readonly warmup?: number;
  /** Timed rounds the iterations are split into; ops/s is their median (default 5). */
  readonly rounds?: number;
}

// Keeps results alive so the JIT cannot drop the measured work.
let sink: unknown;

/** Measures `fn`: operations per second (median of rounds over `iterations` calls) and p50/p99 of single calls in µs. */
export function measure(name: string, fn: () => unknown, options: MeasureOptions): Measurement {
  const warmup = options.warmup ?? Math.max(100, Math.floor(options.iterations / 10));
  for (let i = 0; i < warmup; i++) sink = fn();

  // Throughput: the median of several timed rounds, so a burst of load from other processes on a shared
  // machine skews one round rather than the figure.
  const rounds = Math.max(1, Math.min(options.rounds ?? 5, options.iterations));
  const perRound = Math.ceil(options.iterations / rounds);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) sink = fn();
    rates.push((perRound * 1e9) / Number(process.hrtime.bigint() - started));
  }
  rates.sort((a, b) => a - b);

  const samples = Math.min(options.iterations, 50_000);
  const latencies = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    sink = fn();
    latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  latencies.sort();
  if (sink === Symbol.for("never")) console.log(sink);
  return {
    name,
    opsPerSec: Math.round(rates[Math.floor(rates.length / 2)]!),
    p50us: round(percentile(latencies, 0.5)),
    p99us: round(percentile(latencies, 0.99)),
  };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** One operation measured for Herald and for a peer in the same run. */
export interface Comparison {
  readonly herald: Measurement;
  readonly peer: Measurement;
  /** herald.opsPerSec / peer.opsPerSec */
  readonly speedup: number;
}

export function compare(herald: Measurement, peer: Measurement): Comparison {
  return { herald, peer, speedup: Math.round((herald.opsPerSec / peer.opsPerSec) * 100) / 100 };
}

/** Prints comparisons side by side as a table. */
export function printComparisons(
  title: string,
  peerName: string,
  rows: Readonly<Record<string, Comparison>>,
): void {
  console.log(`\n${title}`);
  console.log(
    `${"operation".padEnd(34)} ${"herald ops/s".padStart(13)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)}   ${`${peerName} ops/s`.padStart(13)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)}  speedup`,
  );
  for (const [op, c] of Object.entries(rows)) {
    console.log(
      `${op.padEnd(34)} ${String(c.herald.opsPerSec).padStart(13)} ${c.herald.p50us.toFixed(2).padStart(8)} ${c.herald.p99us.toFixed(2).padStart(8)}   ${String(c.peer.opsPerSec).padStart(13)} ${c.peer.p50us.toFixed(2).padStart(8)} ${c.peer.p99us.toFixed(2).padStart(8)}  ${c.speedup.toFixed(2)}×`,
    );
  }
}
