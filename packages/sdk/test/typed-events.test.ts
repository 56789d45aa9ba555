import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudEvent } from "@herald/cloudevents";
import { defineEvent, type EventData, EventDataValidationError, EventRegistry } from "@herald/sdk";
import { Type } from "@sinclair/typebox";

const OrderPlaced = defineEvent({
  type: "com.example.order.placed",
  source: "/orders",
  schema: Type.Object(
    {
      orderId: Type.String({ minLength: 1 }),
      total: Type.Number({ minimum: 0 }),
      email: Type.String({ format: "email" }),
    },
    { additionalProperties: false },
  ),
});

// v1 had `amountCents`; v2 has `total` in currency units; v3 adds `currency`.
const Paid = defineEvent({
  type: "com.example.payment.received",
  version: 3,
  source: "/payments",
  schema: Type.Object({ orderId: Type.String(), total: Type.Number(), currency: Type.String() }),
  upcasters: {
    1: (d) => {
      const v1 = d as { orderId: string; amountCents: number };
      return { orderId: v1.orderId, total: v1.amountCents / 100 };
    },
    2: (d) => ({ ...(d as object), currency: "EUR" }),
  },
});

test("create() types data at compile time and validates it at run time", () => {
  const e = OrderPlaced.create({ data: { orderId: "o-1", total: 12.5, email: "a@example.com" } });
  const data: EventData<typeof OrderPlaced> = e.data!;
  assert.equal(data.orderId, "o-1");
  assert.equal(e.type, "com.example.order.placed");
  assert.equal(e.source, "/orders");
  assert.equal(e.datacontenttype, "application/json");
  assert.equal(e["dataversion"], undefined, "v1 events carry no version extension");

  const wrongType = () =>
    OrderPlaced.create({
      // @ts-expect-error total must be a number
      data: { orderId: "o-1", total: "12", email: "a@example.com" },
    });
  const err = (() => {
    try {
      wrongType();
    } catch (x) {
      return x;
    }
  })();
  assert.ok(err instanceof EventDataValidationError);
  assert.equal(err.type, "com.example.order.placed");
  assert.deepEqual(err.issues, [{ path: "/total", message: "must be number" }]);
});

test("validation errors list every failing field by JSON pointer", () => {
  const issues = OrderPlaced.check({ orderId: "", total: -1, email: "nope", extra: true });
  assert.deepEqual(issues.map((i) => i.path).sort(), ["", "/email", "/orderId", "/total"]);
  assert.ok(issues.some((i) => i.message.includes("'extra'")));
  assert.deepEqual(OrderPlaced.check({ orderId: "x", total: 0, email: "a@b.co" }), []);
});

test("parse() upcasts old versions step by step to the current one and validates", () => {
  const v1 = new CloudEvent({
    source: "/legacy",
    type: Paid.type,
    data: { orderId: "o-9", amountCents: 1250 },
  });
  const parsed = Paid.parse(v1);
  assert.deepEqual(parsed.data, { orderId: "o-9", total: 12.5, currency: "EUR" });
  assert.equal(parsed["dataversion"], 3);
  assert.equal(parsed.id, v1.id, "identity is kept");

  const v2 = new CloudEvent({
    source: "/s",
    type: Paid.type,
    dataversion: 2,
    data: { orderId: "o", total: 1 },
  });
  assert.equal(Paid.parse(v2).data?.currency, "EUR");

  const current = Paid.create({ data: { orderId: "o", total: 1, currency: "USD" } });
  assert.equal(current["dataversion"], 3);
  assert.equal(Paid.parse(current), current, "current version passes through");
});

test("parse() refuses unknown future versions, wrong types and bad data with typed errors", () => {
  const future = new CloudEvent({ source: "/s", type: Paid.type, dataversion: 4, data: {} });
  assert.throws(
    () => Paid.parse(future),
    (e: unknown) => e instanceof EventDataValidationError && /dataversion 4/.test(e.message),
  );
  assert.throws(
    () => Paid.parse(new CloudEvent({ source: "/s", type: "other", data: {} })),
    EventDataValidationError,
  );
  const broken = new CloudEvent({ source: "/s", type: Paid.type, dataversion: 3, data: { orderId: 1 } });
  assert.throws(() => Paid.parse(broken), EventDataValidationError);
});

test("a definition needs an upcaster for every older version", () => {
  assert.throws(
    () => defineEvent({ type: "x", version: 2, schema: Type.Object({}) }),
    /upcaster from v1 to v2/,
  );
});

test("the registry checks outgoing events of defined types only", () => {
  const registry = new EventRegistry([OrderPlaced]);
  registry.assertValid(OrderPlaced.create({ data: { orderId: "o", total: 1, email: "a@b.co" } }));
  registry.assertValid(new CloudEvent({ source: "/s", type: "undefined.type", data: "anything" }));
  const hand = new CloudEvent({ source: "/s", type: OrderPlaced.type, data: { orderId: "o" } });
  assert.throws(() => registry.assertValid(hand), EventDataValidationError);
});
