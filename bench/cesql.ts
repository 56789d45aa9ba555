// CESQL filter evaluation vs a hand-written JS predicate, on the same events, in the same run.
// Usage: node bench/dist/cesql.js [--quick]. The last line of output is one JSON object.
import { runCesqlBench } from "./lib/cesql-cases.js";

const quick = process.argv.includes("--quick");
const result = runCesqlBench(quick);
console.log(JSON.stringify({ bench: "cesql", quick, node: process.version, ...result }));
