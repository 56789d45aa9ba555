import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventError,
  type CloudEventInit,
  CloudEventValidationError,
  generateEventId,
  getCausationId,
  getCorrelationId,
  getExpiryTime,
  getPartitionKey,
  orderingKey,
  getTraceparent,
  isExpired,
  isTimestamp,
  isUriReference,
  validateCloudEvent,
} from "@herald/cloudevents";

const base = { source: "https://example.com/orders", type: "com.example.order.created" } as const;

/** The issues of a constructor call that must fail, as `attribute` names. */
function failingAttributes(init: unknown): string[] {
  try {
    new CloudEvent(init as CloudEventInit);
  } catch (err) {
    assert.ok(err instanceof CloudEventValidationError, `expected CloudEventValidationError, got ${err}`);
    assert.ok(err instanceof CloudEventError);
    for (const issue of err.issues) assert.ok(issue.reason.length > 0);
    return err.issues.map((i) => i.attribute).sort();
  }
  assert.fail("constructor accepted an invalid event");
}

describe("CloudEvent construction", () => {
  it("fills specversion and a time-ordered UUIDv7 id, and freezes the event", () => {
    const before = Date.now();
    const a = new CloudEvent(base);
    const b = new CloudEvent(base);
    assert.equal(a.specversion, "1.0");
    assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a.id, b.id);
    // The first 48 bits are the creation time in ms, so ids sort by time.
    const millis = Number.parseInt(a.id.slice(0, 8) + a.id.slice(9, 13), 16);
    assert.ok(millis >= before && millis <= Date.now(), `timestamp ${millis} not in [${before}, now]`);
    assert.ok(Object.isFrozen(a));
    assert.throws(() => {
      (a as unknown as Record<string, unknown>)["type"] = "x";
    }, TypeError);
  });

  it("keeps attributes, extensions and data as own enumerable properties, none undefined", () => {
    const e = new CloudEvent({
      ...base,
      id: "1",
      subject: "order/1",
      datacontenttype: "application/json",
      dataschema: "https://example.com/schema.json",
      time: "2024-05-01T12:00:00.123Z",
      partitionkey: "order-1",
      data: { total: 10 },
    });
    assert.deepEqual(Object.keys(e), [
      "specversion",
      "id",
      "source",
      "type",
      "datacontenttype",
      "dataschema",
      "subject",
      "time",
      "partitionkey",
      "data",
    ]);
    assert.deepEqual(Object.keys(new CloudEvent({ ...base, id: "2", subject: undefined })), [
      "specversion",
      "id",
      "source",
      "type",
    ]);
    assert.deepEqual(e.data, { total: 10 });
  });

  it("stores a Date time (and a Date extension) as an RFC 3339 string", () => {
    const when = new Date(Date.UTC(2024, 4, 1, 12, 30, 0, 5));
    const e = new CloudEvent({ ...base, time: when, expirytime: when });
    assert.equal(e.time, "2024-05-01T12:30:00.005Z");
    assert.equal(e["expirytime"], "2024-05-01T12:30:00.005Z");
    assert.ok(isTimestamp(e.time!));
  });

  it("accepts every type of the type system as extension values", () => {
    const bytes = new Uint8Array([1, 2, 255]);
    const e = new CloudEvent({
      ...base,
      str: "text",
      int: -2147483648,
      max: 2147483647,
      bool: false,
      bin: bytes,
      averyveryverylongextensionname: "longer than 20 is a SHOULD NOT, accepted",
    });
    assert.deepEqual(e.extensionsRecord(), {
      str: "text",
      int: -2147483648,
      max: 2147483647,
      bool: false,
      bin: bytes,
      averyveryverylongextensionname: "longer than 20 is a SHOULD NOT, accepted",
    });
  });

  it("reports every failing attribute by name in one typed error", () => {
    assert.deepEqual(
      failingAttributes({
        specversion: "0.3",
        id: "",
        source: "not a uri",
        type: 42,
        datacontenttype: "json",
        dataschema: "/relative/schema",
        subject: "",
        time: "yesterday",
        BadName: "x",
        floaty: 1.5,
        big: 2147483648,
        nothing: null,
        obj: { a: 1 },
      }),
      [
        "BadName",
        "big",
        "datacontenttype",
        "dataschema",
        "floaty",
        "id",
        "nothing",
        "obj",
        "source",
        "specversion",
        "subject",
        "time",
        "type",
      ],
    );
  });

  it("requires source and type; rejects non-objects", () => {
    assert.deepEqual(failingAttributes({}), ["source", "type"]);
    assert.deepEqual(failingAttributes({ source: "", type: "" }), ["source", "type"]);
    assert.deepEqual(failingAttributes(null), ["(event)"]);
    assert.deepEqual(failingAttributes([base]), ["(event)"]);
  });

  it("enforces the String type: no control characters, no lone surrogates", () => {
    assert.deepEqual(failingAttributes({ ...base, subject: "a\nb" }), ["subject"]);
    assert.deepEqual(failingAttributes({ ...base, ext: "\u0085" }), ["ext"]);
    assert.deepEqual(failingAttributes({ ...base, ext: "\uD800x" }), ["ext"]);
    assert.deepEqual(failingAttributes({ ...base, ext: "\uFFFE" }), ["ext"]);
    const ok = new CloudEvent({ ...base, subject: "🌎 ünïcödé" });
    assert.equal(ok.subject, "🌎 ünïcödé");
  });

  it("checks URI-reference, URI, Timestamp and media type syntax", () => {
    for (const good of [
      "https://github.com/cloudevents",
      "mailto:cncf-wg-serverless@lists.cncf.io",
      "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
      "/cloudevents/spec/pull/123",
      "/sensors/tn-1234567/alerts",
      "1-555-123-4567",
      "a%20b",
      "?q=1#frag",
    ]) {
      assert.ok(isUriReference(good), good);
    }
    for (const bad of [
      "not a uri",
      "1a:b",
      "%zz",
      "a\\b",
      "<x>",
      "]",
      "a#b#c",
      "//host:port/",
      "//[zz::1]/",
    ]) {
      assert.ok(!isUriReference(bad), bad);
    }
    for (const good of ["//[::1]:8080/x", "http://user:pw@[v1.fe]/", "//127.0.0.1:/"])
      assert.ok(isUriReference(good), good);
    for (const good of [
      "2024-02-29T00:00:00Z",
      "1985-04-12T23:20:50.52z",
      "1990-12-31T15:59:60-08:00",
      "2016-12-31T23:59:60Z",
    ]) {
      assert.ok(isTimestamp(good), good);
    }
    for (const bad of [
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:00:00",
      "2024-01-01 00:00:00Z",
      "2024-01-01T00:00:00+25:00",
      "2016-12-31T12:00:60Z",
    ]) {
      assert.ok(!isTimestamp(bad), bad);
    }
    assert.deepEqual(failingAttributes({ ...base, dataschema: "schema.json" }), ["dataschema"]);
    for (const ct of ["text/plain", "application/json; charset=utf-8", 'text/plain;charset="us-ascii"']) {
      assert.equal(new CloudEvent({ ...base, datacontenttype: ct }).datacontenttype, ct);
    }
    for (const ct of ["text", "text/", "/json", "text/plain; charset", "a b/c"]) {
      assert.deepEqual(failingAttributes({ ...base, datacontenttype: ct }), ["datacontenttype"], ct);
    }
  });

  it("validates the documented extensions when present", () => {
    const good = {
      ...base,
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
      partitionkey: "customer-7",
      sequence: "0000042",
      dataref: "https://blob.example.com/orders/1",
      expirytime: "2030-01-01T00:00:00Z",
      correlationid: "checkout-99",
      causationid: "evt-1",
    };
    const e = new CloudEvent(good);
    assert.equal(getTraceparent(e), good.traceparent);
    assert.equal(getPartitionKey(e), "customer-7");
    assert.equal(getCorrelationId(e), "checkout-99");
    assert.equal(getCausationId(e), "evt-1");
    assert.equal(getExpiryTime(e)?.toISOString(), "2030-01-01T00:00:00.000Z");
    assert.equal(isExpired(e, new Date("2029-12-31T23:59:59Z")), false);
    assert.equal(isExpired(e, new Date("2030-01-01T00:00:00Z")), true);

    assert.deepEqual(
      failingAttributes({
        ...base,
        traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        tracestate: "Upper=1",
        partitionkey: "",
        sequence: 7,
        dataref: "not a uri",
        expirytime: "tomorrow",
        correlationid: "",
        causationid: true,
      }),
      [
        "causationid",
        "correlationid",
        "dataref",
        "expirytime",
        "partitionkey",
        "sequence",
        "traceparent",
        "tracestate",
      ],
    );
    for (const tp of [
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ]) {
      assert.deepEqual(failingAttributes({ ...base, traceparent: tp }), ["traceparent"], tp);
    }
    // A future version may carry more fields.
    new CloudEvent({ ...base, traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra" });
  });

  it("takes data or data_base64, never both", () => {
    const e = new CloudEvent({ ...base, data_base64: "AQL/" });
    assert.deepEqual(e.data, new Uint8Array([1, 2, 255]));
    assert.equal(Object.getPrototypeOf(e.data), Uint8Array.prototype);
    assert.equal(Object.hasOwn(e, "data_base64"), false);
    assert.deepEqual(failingAttributes({ ...base, data: 1, data_base64: "AQL/" }), ["data_base64"]);
    assert.deepEqual(failingAttributes({ ...base, data_base64: "not base64!" }), ["data_base64"]);
    assert.deepEqual(failingAttributes({ ...base, data_base64: "AQL" }), ["data_base64"]);
  });
});

describe("copy-on-change", () => {
  const original = new CloudEvent({ ...base, id: "1", subject: "s", tenant: "acme", data: { a: 1 } });

  it("applies a patch to a copy and leaves the original untouched", () => {
    const changed = original.cloneWith({ subject: "t", region: "eu" });
    assert.equal(changed.subject, "t");
    assert.equal(changed["region"], "eu");
    assert.equal(changed.id, "1");
    assert.equal(changed["tenant"], "acme");
    assert.equal(original.subject, "s");
    assert.equal(original["region"], undefined);
    assert.ok(Object.isFrozen(changed));
  });

  it("removes attributes and extensions patched to undefined", () => {
    const changed = original.cloneWith({ subject: undefined, tenant: undefined, data: undefined });
    assert.deepEqual(Object.keys(changed), ["specversion", "id", "source", "type"]);
  });

  it("gives a fresh id when the patch removes it", () => {
    const fresh = original.cloneWith({ id: undefined });
    assert.notEqual(fresh.id, original.id);
    assert.match(fresh.id, /^[0-9a-f-]{36}$/);
  });

  it("replaces data by data_base64 and revalidates the result", () => {
    const changed = original.cloneWith<Uint8Array>({ data_base64: "AA==" });
    assert.deepEqual(changed.data, new Uint8Array([0]));
    assert.throws(() => original.cloneWith({ time: "noon" }), CloudEventValidationError);
    assert.throws(() => original.cloneWith({ source: undefined }), CloudEventValidationError);
  });

  it("ignores a __proto__ key instead of changing the prototype", () => {
    const patch = JSON.parse('{"__proto__": {"polluted": "yes"}}') as Partial<CloudEventInit>;
    assert.throws(() => original.cloneWith(patch), CloudEventValidationError);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });
});

describe("serialization helpers", () => {
  it("toJSON writes binary data as data_base64 and binary extensions as Base64", () => {
    const e = new CloudEvent({
      ...base,
      id: "1",
      bin: new Uint8Array([104, 105]),
      data: new Uint8Array([0, 1]),
    });
    assert.deepEqual(e.toJSON(), {
      specversion: "1.0",
      id: "1",
      source: base.source,
      type: base.type,
      bin: "aGk=",
      data_base64: "AAE=",
    });
  });

  it("validateCloudEvent reports without throwing", () => {
    assert.deepEqual(validateCloudEvent({ ...base }), []);
    assert.deepEqual(
      validateCloudEvent({ type: "t", time: "x" }).map((i) => i.attribute),
      ["source", "time"],
    );
    assert.deepEqual(validateCloudEvent("nope"), [
      { attribute: "(event)", reason: "must be an object of attributes" },
    ]);
  });
});

describe("generated ids", () => {
  it("are UUIDv7 with the given millisecond timestamp and 74 random bits", () => {
    const at = Date.UTC(2026, 10, 25, 9, 0, 0, 123);
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = generateEventId(at);
      assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
      assert.equal(id[14], "7");
      assert.ok("89ab".includes(id[19]!));
      ids.add(id);
    }
    assert.equal(ids.size, 2000);
    assert.ok(generateEventId(at) < generateEventId(at + 1));
  });
});

describe("orderingKey", () => {
  it("is the partitionkey, else the subject, else the source", () => {
    const base = { specversion: "1.0", id: "1", source: "/src", type: "t" } as const;
    assert.equal(orderingKey(new CloudEvent({ ...base, partitionkey: "pk", subject: "sub" })), "pk");
    assert.equal(orderingKey(new CloudEvent({ ...base, subject: "sub" })), "sub");
    // Not valid CloudEvents, but the key never comes out empty.
    assert.equal(orderingKey({ source: "/src", partitionkey: "", subject: "" }), "/src");
    assert.equal(orderingKey(new CloudEvent(base)), "/src");
  });
});
