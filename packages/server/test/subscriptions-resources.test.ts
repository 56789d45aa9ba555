// Subscription resources over HTTP: CRUD, Subscriptions API round-trip, validation problems,
// secrets, persistence across a manager restart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import YAML from "yaml";
import { conformanceDir } from "./support/conformance.js";
import { api, type Harness, makeEvent, startHarness } from "./support/harness.js";

describe("subscription resources", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close({ closeLog: true });
  });

  it("accepts every member and filter dialect of the conformance OpenAPI", async () => {
    const doc = YAML.parse(
      readFileSync(join(conformanceDir(), "subscriptions/subscriptions-openapi.yaml"), "utf8"),
    );
    const schemas = doc.components.schemas;
    const members = Object.keys(schemas.SubscriptionRequest.properties).sort();
    assert.deepEqual(members, [
      "config",
      "filters",
      "protocol",
      "protocolsettings",
      "sink",
      "sinkcredential",
      "source",
      "types",
    ]);
    assert.deepEqual(schemas.SubscriptionRequest.required, ["sink", "protocol"]);
    const full = {
      protocol: "HTTP",
      protocolsettings: { headers: { "x-a": "1" }, method: "PUT" },
      sink: "http://127.0.0.1:9/full",
      sinkcredential: { credentialtype: "PLAIN", identifier: "me", secret: "pw" },
      source: "/full",
      types: ["full.thing"],
      filters: [{ sql: "type = 'full.thing'" }, { prefix: { type: "full." } }],
      config: { maxInFlight: "1" },
    };
    const created = await api(h.url, "POST", "/subscriptions", { id: "full", ...full });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const shown = created.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(shown).sort(), ["id", ...members].sort());
    const dialects = Object.keys(schemas)
      .filter((name) => name.endsWith("Filter") && name !== "Filter")
      .map((name) => {
        const props = schemas[name].allOf?.[1]?.properties ?? {};
        return Object.keys(props)[0];
      })
      .sort();
    assert.deepEqual(dialects, ["all", "any", "exact", "not", "prefix", "sql", "suffix"]);
    const samples: Record<string, unknown> = {
      exact: { type: "a", myext: "b" },
      prefix: { subject: "orders/" },
      suffix: { source: "/eu" },
      all: [{ exact: { type: "a" } }, { sql: "EXISTS subject" }],
      any: [{ prefix: { type: "a." } }, { not: { suffix: { type: ".b" } } }],
      not: { exact: { type: "a" } },
      sql: "type IN ('a', 'b') AND subject LIKE 'orders/%'",
    };
    for (const dialect of dialects) {
      const filters = [{ [dialect]: samples[dialect] }];
      const res = await api(h.url, "POST", "/subscriptions", { id: `dialect-${dialect}`, filters });
      assert.equal(res.status, 201, `${dialect}: ${JSON.stringify(res.body)}`);
      const read = (await api(h.url, "GET", `/subscriptions/dialect-${dialect}`)).body as {
        filters: unknown;
      };
      assert.deepEqual(read.filters, filters);
    }
  });

  it("creates, reads, lists, updates and deletes; resources round-trip", async () => {
    const body = {
      id: "rt",
      protocol: "HTTP",
      protocolsettings: { headers: { "x-team": "orders" }, method: "POST" },
      sink: "http://127.0.0.1:9/hook",
      source: "/orders",
      types: ["order.created"],
      filters: [
        { exact: { type: "order.created" } },
        { prefix: { subject: "orders/" } },
        { suffix: { source: "/orders" } },
        { all: [{ exact: { region: "eu" } }, { not: { exact: { test: "true" } } }] },
        { any: [{ prefix: { type: "order." } }, { suffix: { type: ".paid" } }] },
      ],
      config: { maxInFlight: "4", ordering: "key" },
    };
    const created = await api(h.url, "POST", "/subscriptions", body);
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("location"), "/subscriptions/rt");
    assert.deepEqual(created.body, body);
    assert.deepEqual((await api(h.url, "GET", "/subscriptions/rt")).body, body);
    const list = (await api(h.url, "GET", "/subscriptions")).body as Array<{ id: string }>;
    assert.ok(list.some((s) => s.id === "rt"));

    const updated = { ...body, types: ["order.paid"], config: { maxInFlight: 2 } };
    const put = await api(h.url, "PUT", "/subscriptions/rt", updated);
    assert.equal(put.status, 200);
    assert.deepEqual((await api(h.url, "GET", "/subscriptions/rt")).body, updated);

    assert.equal((await api(h.url, "DELETE", "/subscriptions/rt")).status, 200);
    assert.equal((await api(h.url, "GET", "/subscriptions/rt")).status, 404);
    assert.equal((await api(h.url, "DELETE", "/subscriptions/rt")).status, 404);
    assert.equal((await api(h.url, "PUT", "/subscriptions/rt", updated)).status, 404);
  });

  it("assigns an id when none is given and refuses a duplicate id", async () => {
    const created = await api(h.url, "POST", "/subscriptions", { types: ["x"] });
    assert.equal(created.status, 201);
    const id = (created.body as { id: string }).id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const dup = await api(h.url, "POST", "/subscriptions", { id, types: ["y"] });
    assert.equal(dup.status, 409);
    assert.equal((dup.body as { code: string }).code, "duplicate-subscription");
    assert.equal(dup.headers.get("content-type"), "application/problem+json");
  });

  it("answers 400 problem+json naming each invalid field", async () => {
    const res = await api(h.url, "POST", "/subscriptions", {
      sink: "not a url",
      filters: [{ exact: { type: 5 } }, { nope: {} }, { sql: "type ===" }],
      config: { maxDeliveries: -1 },
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const problem = res.body as { status: number; errors: Array<{ field: string; reason: string }> };
    assert.equal(problem.status, 400);
    assert.equal((res.body as { code: string }).code, "subscription-invalid");
    assert.deepEqual(problem.errors.map((e) => e.field).sort(), [
      "/config/maxDeliveries",
      "/filters/0/exact/type",
      "/filters/1",
      "/filters/2/sql",
      "/sink",
    ]);
    const notJson = await fetch(`${h.url}/subscriptions`, { method: "POST", body: "{" });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { code: string }).code, "json-invalid");
  });

  it("never shows secrets and keeps them when a PUT sends the redacted value back", async () => {
    const body = { id: "sec", sink: "http://127.0.0.1:9/", config: { secret: "top-secret" } };
    const created = (await api(h.url, "POST", "/subscriptions", body)).body as { config: { secret: string } };
    assert.equal(created.config.secret, "********");
    const put = await api(h.url, "PUT", "/subscriptions/sec", { ...body, config: { secret: "********" } });
    assert.equal(put.status, 200);
    assert.equal(JSON.stringify(await h.log.metadata.get("subscription/sec")).includes("top-secret"), true);
  });

  it("answers OPTIONS with the allowed methods", async () => {
    const res = await fetch(`${h.url}/subscriptions`, { method: "OPTIONS" });
    assert.equal(res.headers.get("allow"), "GET, POST, OPTIONS");
  });

  it("persists resources: a new manager on the same log loads them", async () => {
    await api(h.url, "POST", "/subscriptions", { id: "kept", types: ["k"] });
    const log = h.log;
    await h.close();
    h = await startHarness({ log });
    const res = await api(h.url, "GET", "/subscriptions/kept");
    assert.equal(res.status, 200);
    assert.deepEqual((res.body as { types: string[] }).types, ["k"]);
  });
});

describe("subscription changes take effect", () => {
  it("PUT switches the filter; DELETE stops delivery", async () => {
    const h = await startHarness();
    try {
      await api(h.url, "POST", "/subscriptions", { id: "chg", types: ["one"], config: { ordering: "none" } });
      await h.log.append([makeEvent({ type: "one" }), makeEvent({ type: "two" })]);
      const first = await pullTypes(h.url, "chg");
      assert.deepEqual(first, ["one"]);
      assert.equal(
        (
          await api(h.url, "PUT", "/subscriptions/chg", {
            types: ["two", "three"],
            config: { ordering: "none" },
          })
        ).status,
        200,
      );
      await h.log.append([makeEvent({ type: "one" }), makeEvent({ type: "three" })]);
      // Delivery resumes from the checkpoint under the new filter: "three" comes, "one" no more, and
      // "two" was already passed (judged by the old filter) before the change.
      assert.deepEqual(await pullTypes(h.url, "chg"), ["three"]);
      assert.equal((await h.manager.stats("chg")).delivered, 2, "a PUT keeps the counters");
      assert.equal((await api(h.url, "DELETE", "/subscriptions/chg")).status, 200);
      assert.equal((await api(h.url, "POST", "/subscriptions/chg/pull", { waitMs: 0 })).status, 404);
      assert.equal(await h.log.metadata.get("subscription/chg"), undefined);
      assert.equal(await h.log.checkpoints.load("subscription/chg"), undefined);
    } finally {
      await h.close({ closeLog: true });
    }
  });
});

/** Pulls and acks what is there; answers the event types, sorted. */
async function pullTypes(base: string, id: string): Promise<string[]> {
  const res = await api(base, "POST", `/subscriptions/${id}/pull`, { max: 10, waitMs: 300 });
  const messages = (res.body as { messages: Array<{ ackId: string; event: { type: string } }> }).messages;
  await api(base, "POST", `/subscriptions/${id}/ack`, { ackIds: messages.map((m) => m.ackId) });
  return messages.map((m) => m.event.type).sort();
}
