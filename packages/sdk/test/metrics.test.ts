import assert from "node:assert/strict";
import { test } from "node:test";
import { compose, metrics, NonRetryableError } from "@herald/sdk";
import { Registry } from "prom-client";
import { event, unitFor } from "./support/events.js";

test("counts handled events by type and outcome and times them", async () => {
  const registry = new Registry();
  const mw = metrics({ registry });
  const ok = compose([mw], () => {});
  const bad = compose([mw], () => {
    throw new NonRetryableError("no");
  });
  const flaky = compose([metrics({ registry })], () => {
    throw new Error("later");
  });
  for (let i = 0; i < 3; i++) {
    const e = event({ type: "m.ok" });
    await ok(e, unitFor(e).context);
  }
  const e = event({ type: "m.bad" });
  await assert.rejects(bad(e, unitFor(e).context));
  await assert.rejects(flaky(e, unitFor(e).context));
  const text = await registry.metrics();
  assert.match(text, /herald_sdk_handled_total\{type="m.ok",outcome="ok"\} 3/);
  assert.match(text, /herald_sdk_handled_total\{type="m.bad",outcome="reject"\} 1/);
  assert.match(text, /herald_sdk_handled_total\{type="m.bad",outcome="retry"\} 1/);
  assert.match(text, /herald_sdk_handler_duration_seconds_count\{type="m.ok"\} 3/);
  assert.match(text, /herald_sdk_handlers_in_flight 0/);
});
