// Filter dialects compiled to a predicate (exact, prefix, suffix, all, any, not, types, source).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { SubscriptionValidationError } from "../src/subscriptions/errors.js";
import { compileMatcher } from "../src/subscriptions/filters.js";
import { parseSubscription } from "../src/subscriptions/model.js";

const event = (attributes: Record<string, unknown>) =>
  ({
    specversion: "1.0",
    id: "1",
    source: "/orders/eu",
    type: "order.created",
    ...attributes,
  }) as unknown as CloudEvent;

const matches = (spec: Parameters<typeof compileMatcher>[0], attributes: Record<string, unknown> = {}) =>
  compileMatcher(spec)(event(attributes));

describe("filter dialects", () => {
  it("matches everything without filters", () => {
    assert.equal(matches({}), true);
  });
  it("exact compares whole values; a missing attribute never matches", () => {
    assert.equal(matches({ filters: [{ exact: { type: "order.created" } }] }), true);
    assert.equal(matches({ filters: [{ exact: { type: "order" } }] }), false);
    assert.equal(matches({ filters: [{ exact: { subject: "x" } }] }), false);
    assert.equal(matches({ filters: [{ exact: { region: "eu" } }] }, { region: "eu" }), true);
    assert.equal(matches({ filters: [{ exact: { count: "3" } }] }, { count: 3 }), true);
    assert.equal(matches({ filters: [{ exact: { type: "order.created", source: "/x" } }] }), false);
  });
  it("prefix and suffix", () => {
    assert.equal(matches({ filters: [{ prefix: { type: "order." } }] }), true);
    assert.equal(matches({ filters: [{ prefix: { type: "orders." } }] }), false);
    assert.equal(matches({ filters: [{ suffix: { source: "/eu" } }] }), true);
    assert.equal(matches({ filters: [{ suffix: { source: "/us" } }] }), false);
    assert.equal(matches({ filters: [{ prefix: { subject: "" } }] }), false);
    assert.equal(matches({ filters: [{ prefix: { subject: "" } }] }, { subject: "a" }), true);
  });
  it("all, any and not nest", () => {
    const spec = {
      filters: [
        {
          any: [
            { all: [{ prefix: { type: "order." } }, { not: { suffix: { source: "/us" } } }] },
            { exact: { type: "payment.failed" } },
          ],
        },
      ],
    };
    assert.equal(matches(spec), true);
    assert.equal(matches(spec, { source: "/orders/us" }), false);
    assert.equal(matches(spec, { source: "/orders/us", type: "payment.failed" }), true);
  });
  it("top-level filters, types and source must all match", () => {
    const spec = {
      types: ["order.created", "order.paid"],
      source: "/orders/eu",
      filters: [{ prefix: { type: "order" } }],
    };
    assert.equal(matches(spec), true);
    assert.equal(matches(spec, { type: "order.shipped" }), false);
    assert.equal(matches(spec, { source: "/orders/us" }), false);
  });
});

describe("sql dialect (CESQL v1)", () => {
  const real = (attributes: Record<string, unknown>) =>
    new CloudEvent({
      specversion: "1.0",
      id: "1",
      source: "/orders/eu",
      type: "order.created",
      ...attributes,
    });
  it("matches through compileCesql, alone and nested", () => {
    const sql = compileMatcher({ filters: [{ sql: "type LIKE 'order.%' AND total > 100" }] });
    assert.equal(sql(real({ total: 150 })), true);
    assert.equal(sql(real({ total: 50 })), false);
    assert.equal(sql(real({})), false, "a missing attribute is not a match");
    const nested = compileMatcher({
      filters: [{ not: { sql: "EXISTS region" } }, { exact: { type: "order.created" } }],
    });
    assert.equal(nested(real({})), true);
    assert.equal(nested(real({ region: "eu" })), false);
  });
  it("refuses invalid CESQL naming the filter", () => {
    try {
      parseSubscription({ filters: [{ exact: { type: "a" } }, { any: [{ sql: "type = " }] }] }, "a");
      assert.fail("expected a validation error");
    } catch (error) {
      assert.ok(error instanceof SubscriptionValidationError);
      assert.deepEqual(
        error.issues.map((i) => i.field),
        ["/filters/1/any/0/sql"],
      );
      assert.match(error.issues[0]!.reason, /invalid CESQL/);
    }
  });
});
