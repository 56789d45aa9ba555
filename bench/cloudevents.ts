// Benchmark of @herald/cloudevents against the official `cloudevents` SDK, measured in the same run:
// decode+validate (HTTP binary, HTTP structured, JSON format, Kafka binary) and encode (HTTP binary/structured);
// then CESQL evaluation against hand-written JS predicates (bench/lib/cesql-cases.ts).
// Usage: node bench/dist/cloudevents.js [--quick] [--iterations N]. The last line of output is one JSON object with all figures.
import {
  CloudEvent,
  decodeHttp,
  decodeJsonEvent,
  decodeKafka,
  decodeTrustedJsonEvent,
  encodeHttp,
  encodeJsonEvent,
  encodeKafka,
} from "@herald/cloudevents";
import { HTTP, Kafka, CloudEvent as SdkEvent } from "cloudevents";
import { runCesqlBench } from "./lib/cesql-cases.js";
import { type Comparison, compare, measure, printComparisons } from "./lib/measure.js";

const quick = process.argv.includes("--quick");
const iterationsFlag = process.argv.indexOf("--iterations");
const iterations = iterationsFlag !== -1 ? Number(process.argv[iterationsFlag + 1]) : quick ? 2_000 : 200_000;

/** A bench section: named comparisons against a peer. */
interface Section {
  readonly name: string;
  readonly peer: string;
  run(iterations: number): Record<string, Comparison>;
}

// A typical business event: JSON data of a few hundred bytes, tracing and partitioning extensions.
const attributes = {
  specversion: "1.0",
  id: "7a9c2f1e-5b3d-4e8a-9c1f-2d6b8e4a0c3f",
  source: "https://orders.example.com/api/v1",
  type: "com.example.order.created",
  subject: "order/42",
  time: "2024-05-01T12:00:00.000Z",
  datacontenttype: "application/json",
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  partitionkey: "customer-7",
  data: {
    orderId: 42,
    customer: { id: "customer-7", name: "Ada Lovelace", email: "ada@example.com" },
    items: [
      { sku: "BOOK-1", qty: 1, price: 29.9 },
      { sku: "PEN-2", qty: 3, price: 1.5 },
    ],
    total: 34.4,
    currency: "EUR",
  },
} as const;

const herald = new CloudEvent(attributes);
const sdk = new SdkEvent(attributes);

const heraldBinary = encodeHttp(herald, "binary");
const heraldStructured = encodeHttp(herald, "structured");
const sdkBinary = HTTP.binary(sdk);
const sdkStructured = HTTP.structured(sdk);
const jsonText = encodeJsonEvent(herald);
const heraldKafka = encodeKafka(herald, "binary");
const sdkKafka = Kafka.binary(sdk);
const sdkKafkaWire = {
  ...sdkKafka,
  value: JSON.stringify(sdkKafka.value),
  body: JSON.stringify(sdkKafka.value),
};

const modelSection: Section = {
  name: "model",
  peer: "sdk",
  run: (n) => ({
    "http.binary.decode+validate": compare(
      measure("herald", () => decodeHttp(heraldBinary), { iterations: n }),
      // The SDK's toEvent builds events unvalidated (strict=false); validate() makes it the same work.
      measure("sdk", () => (HTTP.toEvent(sdkBinary) as SdkEvent).validate(), { iterations: n }),
    ),
    "http.structured.decode+validate": compare(
      measure("herald", () => decodeHttp(heraldStructured), { iterations: n }),
      measure("sdk", () => (HTTP.toEvent(sdkStructured) as SdkEvent).validate(), { iterations: n }),
    ),
    "json.decode+validate": compare(
      measure("herald", () => decodeJsonEvent(jsonText), { iterations: n }),
      measure("sdk", () => new SdkEvent(JSON.parse(jsonText)), { iterations: n }),
    ),
    "json.decode (trusted, no validation)": compare(
      measure("herald", () => decodeTrustedJsonEvent(jsonText), { iterations: n }),
      measure("sdk", () => new SdkEvent(JSON.parse(jsonText), false), { iterations: n }),
    ),
    "kafka.binary.decode+validate": compare(
      measure("herald", () => decodeKafka(heraldKafka), { iterations: n }),
      measure("sdk", () => (Kafka.toEvent(sdkKafkaWire) as SdkEvent).validate(), { iterations: n }),
    ),
    "http.binary.encode": compare(
      measure("herald", () => encodeHttp(herald, "binary"), { iterations: n }),
      measure("sdk", () => HTTP.binary(sdk), { iterations: n }),
    ),
    "http.structured.encode": compare(
      measure("herald", () => encodeHttp(herald, "structured"), { iterations: n }),
      measure("sdk", () => HTTP.structured(sdk), { iterations: n }),
    ),
    "construct+validate": compare(
      measure("herald", () => new CloudEvent(attributes), { iterations: n }),
      measure("sdk", () => new SdkEvent(attributes), { iterations: n }),
    ),
  }),
};

const sections: Section[] = [modelSection];

console.log(
  `@herald/cloudevents bench (${quick ? "quick" : "full"}: ${iterations} iterations per operation, node ${process.version})`,
);
const figures: Record<string, Record<string, Comparison>> = {};
for (const section of sections) {
  const rows = section.run(iterations);
  printComparisons(section.name, section.peer, rows);
  figures[section.name] = rows;
}
const decodeRatios = Object.entries(figures["model"] ?? {})
  // The aim is set for the HTTP binary and structured modes (the broker's ingest path).
  .filter(([op]) => op.startsWith("http.") && op.includes("decode+validate"))
  .map(([, c]) => c.speedup);
const summary = {
  minDecodeSpeedup: Math.min(...decodeRatios),
  aim: 3,
  met: Math.min(...decodeRatios) >= 3,
};
console.log(
  `\nminimum HTTP decode+validate speedup vs the official SDK: ${summary.minDecodeSpeedup}× (aim ≥ 3×)\n`,
);
const cesql = runCesqlBench(quick);
console.log(`\nslowest CESQL case vs its hand-written predicate: ${cesql.maxRatio}× (aim ≤ 3×)`);
console.log(
  JSON.stringify({
    bench: "cloudevents",
    quick,
    iterations,
    node: process.version,
    ...figures,
    cesql,
    summary,
  }),
);
