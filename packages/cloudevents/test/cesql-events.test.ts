import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CesqlEvent, compileCesql } from "../src/cesql/index.js";
import { CloudEvent } from "../src/event.js";
import { BASE_EVENT, check } from "./cesql/helpers.js";

/** Shaped like Herald's CloudEvent: attributes are own properties, methods live on the prototype. */
class ModelEvent {
  readonly [attribute: string]: unknown;
  constructor(attributes: Record<string, unknown>) {
    Object.assign(this, attributes);
    Object.freeze(this);
  }
  toJSON(): Record<string, unknown> {
    return { ...this };
  }
  get upperType(): string {
    return String(this.type).toUpperCase();
  }
}

describe("CESQL input events", () => {
  test("a class instance exposes its own properties only", () => {
    const event = new ModelEvent({ ...BASE_EVENT, region: "eu", data: { a: 1 } });
    check("type = 'test.event' AND region = 'eu'", true, [], event);
    check("EXISTS constructor", false, [], event);
    check("EXISTS tojson", false, [], event);
    check("constructor = 'x'", false, ["missingAttribute"], event);
  });

  test("a Herald CloudEvent: attributes and extensions, never methods or data", () => {
    const event = new CloudEvent({
      id: "42",
      source: "https://shop.example.com/orders",
      type: "com.example.order.created",
      time: new Date("2026-11-25T09:00:00Z"),
      region: "eu",
      priority: 3,
      urgent: true,
      signature: new Uint8Array([1, 2, 3]),
      data: new Uint8Array([9, 9]),
    });
    check("type LIKE 'com.example.order.%' AND region = 'eu' AND priority > 2 AND urgent", true, [], event);
    check("time LIKE '2026-11-25T09:00:00%'", true, [], event);
    check("signature = 'AQID'", true, [], event);
    check("specversion = '1.0' AND id = 42", true, [], event);
    for (const name of ["data", "tojson", "clonewith", "extensionsrecord", "constructor"]) {
      check(`EXISTS ${name}`, false, [], event);
    }
    assert.equal(compileCesql("source LIKE 'https://%'").matches(event), true);
  });

  test("inherited properties are never attributes (prototype pollution does not leak in)", () => {
    const event = Object.assign(
      Object.create({ subject: "inherited", priority: 1 }),
      BASE_EVENT,
    ) as CesqlEvent;
    check("EXISTS subject", false, [], event);
    check("subject = 'inherited'", false, ["missingAttribute"], event);
    check("priority = 1", false, ["missingAttribute"], event);
  });

  test("an event without a prototype works", () => {
    const event = Object.assign(Object.create(null), BASE_EVENT, { ext: 3 }) as CesqlEvent;
    check("ext + 1", 4, [], event);
  });

  test("data and data_base64 are not context attributes", () => {
    const event = { ...BASE_EVENT, data: "payload", data_base64: "AQID" };
    check("EXISTS data", false, [], event);
    check("data = 'payload'", false, ["missingAttribute"], event);
  });

  test("Binary is seen as base64, Timestamp (Date) as RFC 3339, URL as its text", () => {
    const event = {
      ...BASE_EVENT,
      bin: new Uint8Array([1, 2, 3]),
      slice: new Uint8Array([0, 0xff, 0xfe, 0]).subarray(1, 3),
      time: new Date("2018-04-26T12:48:09Z"),
      link: new URL("https://example.com/a b"),
    };
    check("bin", "AQID", [], event);
    check("slice", "//4=", [], event);
    check("time", "2018-04-26T12:48:09.000Z", [], event);
    check("time LIKE '2018-04-26T%'", true, [], event);
    check("link", "https://example.com/a%20b", [], event);
  });

  test("numbers that are not 32-bit integers are seen as Strings", () => {
    const event = { ...BASE_EVENT, half: 1.5, big: 2 ** 40, negzero: -0, small: 7n, huge: 2n ** 40n };
    check("half", "1.5", [], event);
    check("big", "1099511627776", [], event);
    check("negzero", 0, [], event);
    check("small + 1", 8, [], event);
    check("huge", "1099511627776", [], event);
  });

  test("values of no CloudEvents type count as absent", () => {
    const event = {
      ...BASE_EVENT,
      nothing: null,
      undef: undefined,
      nested: { a: 1 },
      list: [1, 2],
      fn: () => 1,
      sym: Symbol("s"),
      bad: new Date(Number.NaN),
    };
    for (const name of ["nothing", "undef", "nested", "list", "fn", "sym", "bad"]) {
      check(`EXISTS ${name}`, false, [], event);
      check(name, false, ["missingAttribute"], event);
    }
  });

  test("a null or undefined event evaluates like an empty one instead of throwing", () => {
    const compiled = compileCesql("EXISTS id OR id = 'x'");
    for (const input of [null, undefined]) {
      const result = compiled.evaluate(input as unknown as CesqlEvent);
      assert.equal(result.value, false);
      assert.deepEqual(
        result.errors.map((error) => error.kind),
        ["missingAttribute"],
      );
      assert.equal(compiled.matches(input as unknown as CesqlEvent), false);
    }
  });

  test("evaluation does not change the event", () => {
    const event = { ...BASE_EVENT, n: "5" };
    const before = JSON.stringify(event);
    compileCesql("n + 1 = 6 AND UPPER(type) LIKE 'TEST%' AND n IN (5)").evaluate(event);
    assert.equal(JSON.stringify(event), before);
  });
});
