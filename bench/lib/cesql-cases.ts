// CESQL filter evaluation vs a hand-written JS predicate, on the same events: shared by
// bench/cesql.ts and the "cesql" section of bench/cloudevents.ts.
import { compileCesql } from "@herald/cloudevents";

type Event = Readonly<Record<string, unknown>>;

interface Case {
  readonly name: string;
  readonly expression: string;
  readonly hand: (event: Event) => boolean;
}

const TYPES = [
  "com.example.order.created",
  "com.example.order.paid",
  "com.example.order.shipped",
  "com.example.store.opened",
  "com.example.payment.failed",
];
const SOURCES = ["https://shop.example.com/orders", "https://pay.example.com/", "urn:depot:7", "/stores/3"];

function makeEvents(count: number): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const event: Record<string, unknown> = {
      specversion: "1.0",
      id: `evt-${i}`,
      source: SOURCES[i % SOURCES.length],
      type: TYPES[(i * 7) % TYPES.length],
      time: "2026-11-25T09:00:00Z",
      datacontenttype: "application/json",
      data: { order: i },
    };
    if (i % 3 !== 0) event.region = i % 2 === 0 ? "eu" : "us";
    if (i % 5 === 0) event.subject = `order-${i}`;
    // Parsed from JSON, as the broker gets them from a request body or the log.
    events.push(JSON.parse(JSON.stringify(event)) as Event);
  }
  return events;
}

const CASES: readonly Case[] = [
  {
    name: "type equality",
    expression: "type = 'com.example.order.created'",
    hand: (e) => e.type === "com.example.order.created",
  },
  {
    name: "prefix via LIKE",
    expression: "source LIKE 'https://shop.example.com/%'",
    hand: (e) => typeof e.source === "string" && e.source.startsWith("https://shop.example.com/"),
  },
  {
    name: "AND of several",
    expression: "type LIKE 'com.example.order.%' AND source LIKE 'https://%' AND region = 'eu'",
    hand: (e) =>
      typeof e.type === "string" &&
      e.type.startsWith("com.example.order.") &&
      typeof e.source === "string" &&
      e.source.startsWith("https://") &&
      e.region === "eu",
  },
  {
    name: "IN",
    expression:
      "type IN ('com.example.order.paid', 'com.example.order.shipped', 'com.example.payment.failed')",
    hand: (e) =>
      e.type === "com.example.order.paid" ||
      e.type === "com.example.order.shipped" ||
      e.type === "com.example.payment.failed",
  },
];

/** Runs `predicate` over all events once per batch; returns per-evaluation nanoseconds of each batch. */
function timeBatches(predicate: (e: Event) => boolean, events: readonly Event[], batches: number) {
  const perEvaluation: number[] = [];
  let matched = 0;
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < events.length; i++) if (predicate(events[i] as Event)) matched++;
    perEvaluation.push(Number(process.hrtime.bigint() - start) / events.length);
  }
  return { perEvaluation, matched };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  // Rates come from the median batch: other work on a shared machine skews a mean.
  return {
    perSecond: Math.round(1e9 / percentile(sorted, 50)),
    p50Ns: round(percentile(sorted, 50)),
    p99Ns: round(percentile(sorted, 99)),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export interface CesqlBenchResult {
  readonly events: number;
  readonly batches: number;
  readonly cases: ReadonlyArray<ReturnType<typeof caseFigures>>;
  readonly maxRatio: number;
}

function caseFigures(
  testCase: Case,
  matched: number,
  total: number,
  cesql: ReturnType<typeof summarize>,
  evaluate: ReturnType<typeof summarize>,
  hand: ReturnType<typeof summarize>,
) {
  return {
    name: testCase.name,
    expression: testCase.expression,
    matchRate: round(matched / total),
    cesqlMatchesPerSec: cesql.perSecond,
    cesqlEvaluatePerSec: evaluate.perSecond,
    handPerSec: hand.perSecond,
    ratio: round(hand.perSecond / cesql.perSecond),
    evaluateRatio: round(hand.perSecond / evaluate.perSecond),
    cesqlP50Ns: cesql.p50Ns,
    cesqlP99Ns: cesql.p99Ns,
    evaluateP50Ns: evaluate.p50Ns,
    evaluateP99Ns: evaluate.p99Ns,
    handP50Ns: hand.p50Ns,
    handP99Ns: hand.p99Ns,
  };
}

/** Runs every case (CESQL matches()/evaluate() vs the hand-written predicate) and prints a table. */
export function runCesqlBench(quick: boolean): CesqlBenchResult {
  const EVENTS = quick ? 1_000 : 10_000;
  const BATCHES = quick ? 40 : 400; // each batch evaluates every event once
  const WARMUP_BATCHES = quick ? 10 : 50;
  const events = makeEvents(EVENTS);
  const results = [];
  for (const testCase of CASES) {
    const compiled = compileCesql(testCase.expression);
    const cesql = (e: Event) => compiled.matches(e);
    const evaluate = (e: Event) => compiled.evaluate(e).value === true;
    // Same answers first: a comparison of different work would be meaningless.
    for (const event of events) {
      if (cesql(event) !== testCase.hand(event)) {
        throw new Error(
          `${testCase.name}: CESQL and the hand-written predicate disagree on ${JSON.stringify(event)}`,
        );
      }
    }
    timeBatches(cesql, events, WARMUP_BATCHES);
    timeBatches(evaluate, events, WARMUP_BATCHES);
    timeBatches(testCase.hand, events, WARMUP_BATCHES);
    // Interleave the contenders batch by batch so machine noise hits all of them alike.
    const samples = { cesql: [] as number[], evaluate: [] as number[], hand: [] as number[] };
    let matched = 0;
    for (let b = 0; b < BATCHES; b++) {
      const c = timeBatches(cesql, events, 1);
      const v = timeBatches(evaluate, events, 1);
      const h = timeBatches(testCase.hand, events, 1);
      samples.cesql.push(...c.perEvaluation);
      samples.evaluate.push(...v.perEvaluation);
      samples.hand.push(...h.perEvaluation);
      matched += c.matched;
    }
    results.push(
      caseFigures(
        testCase,
        matched,
        BATCHES * events.length,
        summarize(samples.cesql),
        summarize(samples.evaluate),
        summarize(samples.hand),
      ),
    );
  }

  const pad = (text: string | number, width: number) => String(text).padStart(width);
  console.log(
    `CESQL vs hand-written predicate, ${EVENTS} events x ${BATCHES} batches${quick ? " (--quick)" : ""}; rates from the median batch; ns per evaluation, p50/p99 over batches`,
  );
  console.log(
    `${"case".padEnd(16)}${pad("matches()/s", 14)}${pad("evaluate()/s", 14)}${pad("hand/s", 14)}${pad("ratio", 7)}${pad("eval ratio", 11)}${pad("cesql p50/p99", 16)}${pad("hand p50/p99", 15)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(16)}${pad(r.cesqlMatchesPerSec.toLocaleString("en"), 14)}${pad(r.cesqlEvaluatePerSec.toLocaleString("en"), 14)}${pad(r.handPerSec.toLocaleString("en"), 14)}${pad(r.ratio, 7)}${pad(r.evaluateRatio, 11)}${pad(`${r.cesqlP50Ns}/${r.cesqlP99Ns}`, 16)}${pad(`${r.handP50Ns}/${r.handP99Ns}`, 15)}`,
    );
  }
  return {
    events: EVENTS,
    batches: BATCHES,
    cases: results,
    maxRatio: Math.max(...results.map((r) => r.ratio)),
  };
}
