// Shared setup of the cluster tests: instances over one PostgreSQL schema, a poll-until helper, and
// publishing numbered events to a stream.
import assert from "node:assert/strict";
import { type HeraldServer, startServer } from "@herald/server";
import { api } from "./harness.js";
import { databaseUrl } from "./pg.js";

// Long enough that a loaded CI machine (2 cores, two test files at once) does not lapse a live lease
// between heartbeats: a lapsed lease moves a partition mid-test and its acks answer 0.
export const LEASE_MS = 2_000;

/** An instance of the cluster on `schema`, named `nodeId`. */
export function startNode(schema: string, nodeId: string, partitions = 8): Promise<HeraldServer> {
  return startServer({
    port: 0,
    logLevel: "silent",
    storage: "postgres",
    database: { url: databaseUrl, schema },
    nodeId,
    cluster: { partitions, leaseMs: LEASE_MS },
  });
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Appends event number `version` of `stream` (id `<stream>-<version>`, data `{stream, version}`). */
export async function publish(base: string, stream: string, version: number): Promise<void> {
  const res = await fetch(`${base}/streams/${stream}`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify({
      specversion: "1.0",
      id: `${stream}-${version}`,
      source: "/cluster-test",
      type: "com.example.cluster",
      data: { stream, version },
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** The partitions of subscription `id` this instance holds (from /readyz). */
export async function owned(base: string, id: string): Promise<number[]> {
  const ready = await api(base, "GET", "/readyz");
  return ((ready.body as { cluster: { owned: Record<string, number[]> } }).cluster.owned[id] ?? []).slice();
}
