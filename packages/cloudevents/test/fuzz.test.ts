// Property and fuzz tests: every decoder, fed random and malformed input, only ever throws this package's
// typed errors (never another exception, never hangs); valid events survive every binding unchanged.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventError,
  type CloudEventInit,
  decodeAmqp,
  decodeHeaderValue,
  decodeHttp,
  decodeJsonBatch,
  decodeJsonEvent,
  decodeKafka,
  decodeMqtt,
  decodeNats,
  decodeTrustedJsonEvent,
  decodeWebSocket,
  encodeAmqp,
  encodeHttp,
  encodeHttpBatch,
  encodeJsonEvent,
  encodeKafka,
  encodeMqtt3,
  encodeMqtt5,
  encodeNats,
  encodeWebSocket,
  isCeString,
  validateCloudEvent,
} from "@herald/cloudevents";
import fc from "fast-check";
import { schemaErrors } from "./helpers/schema.js";

const RUNS = 300;
const TIMEOUT = { timeout: 30_000 };

/** Runs `fn`; anything it throws must be one of the package's typed errors. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CloudEventError)) {
      throw new Error(
        `untyped exception: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      );
    }
  }
}

const attributeNames = fc.constantFrom(
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "subject",
  "dataschema",
  "datacontenttype",
  "data",
  "data_base64",
  "traceparent",
  "tracestate",
  "expirytime",
  "sequence",
  "__proto__",
  "constructor",
  "Bad-Name",
);
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("1.0", "/s", "%C0%A0", '"q"'),
);
const anyValue = fc.oneof(
  anyText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
  fc.uint8Array({ maxLength: 8 }),
  fc.bigInt(),
);
const fuzzObject = fc.dictionary(fc.oneof(attributeNames, fc.string()), anyValue, { maxKeys: 12 });
const body = fc.oneof(
  fc.constant(null),
  anyText,
  fc.uint8Array({ maxLength: 64 }),
  fuzzObject.map((o) => JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? String(v) : v))),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);
const headerName = fc.oneof(
  fc.constantFrom(
    "content-type",
    "Content-Type",
    "ce-specversion",
    "CE-ID",
    "ce-source",
    "ce-type",
    "ce-time",
    "ce-data",
    "ce-datacontenttype",
  ),
  attributeNames.map((n) => `ce-${n}`),
  attributeNames.map((n) => `ce_${n}`),
  attributeNames.map((n) => `cloudEvents_${n}`),
  fc.string(),
);
const contentTypes = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
    "application/cloudevents+avro",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "application/xml; charset=iso-8859-1",
  ),
  anyText,
);
const headerValue = fc.oneof(
  anyText,
  contentTypes,
  fc.array(anyText, { maxLength: 3 }),
  fc.constant(undefined),
);
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 10 });
// Messages that look like CloudEvents most of the time, so the fuzz reaches deep into the decoders.
const ceHeaders = fc
  .record({
    specversion: fc.oneof(fc.constant("1.0"), anyText),
    id: anyText,
    source: anyText,
    type: anyText,
    extra: headers,
    contentType: fc.option(contentTypes, { nil: undefined }),
  })
  .map(({ specversion, id, source, type, extra, contentType }) => ({
    ...extra,
    "ce-specversion": specversion,
    "ce-id": id,
    "ce-source": source,
    "ce-type": type,
    ...(contentType === undefined ? {} : { "content-type": contentType }),
  }));

describe("fuzz: decoders only throw typed errors", () => {
  it("JSON event, batch and WebSocket decoders", TIMEOUT, () => {
    fc.assert(
      fc.property(body, (input) => {
        const value = input ?? "";
        onlyTypedErrors(() => decodeJsonEvent(value));
        // Meant for Herald's own output only, but even on garbage it must fail typed or keep its prototype.
        onlyTypedErrors(() => assert.ok(decodeTrustedJsonEvent(value) instanceof CloudEvent));
        onlyTypedErrors(() => decodeJsonBatch(value));
        onlyTypedErrors(() => decodeJsonBatch(`[${typeof value === "string" ? value : ""}]`));
        onlyTypedErrors(() => decodeWebSocket(value));
      }),
      { numRuns: RUNS },
    );
  });

  it("the constructor and validateCloudEvent with random attribute objects", TIMEOUT, () => {
    fc.assert(
      fc.property(fuzzObject, (init) => {
        onlyTypedErrors(() => new CloudEvent(init as unknown as CloudEventInit));
        const issues = validateCloudEvent(init);
        assert.ok(Array.isArray(issues));
      }),
      { numRuns: RUNS },
    );
  });

  it("HTTP decoder", TIMEOUT, () => {
    fc.assert(
      fc.property(fc.oneof(headers, ceHeaders), body, (h, b) => {
        onlyTypedErrors(() => decodeHttp({ headers: h, body: b }));
      }),
      { numRuns: RUNS },
    );
  });

  it("Kafka, NATS, MQTT and AMQP decoders", TIMEOUT, () => {
    const kafkaHeaders = fc.oneof(headers, ceHeaders).map((h) => {
      const out: Record<string, string | Uint8Array | string[] | undefined> = {};
      for (const [k, v] of Object.entries(h))
        out[k.replace(/^ce-/i, "ce_")] = typeof v === "string" && v.length % 2 === 0 ? Buffer.from(v) : v;
      return out;
    });
    fc.assert(
      fc.property(
        kafkaHeaders,
        fc.oneof(headers, ceHeaders),
        fuzzObject,
        body,
        contentTypes,
        (kh, h, props, b, ct) => {
          onlyTypedErrors(() => decodeKafka({ key: null, headers: kh, value: b }));
          onlyTypedErrors(() => decodeNats({ headers: h, data: b }));
          const userProperties: Record<string, string | string[] | undefined> = {};
          for (const [k, v] of Object.entries(h)) userProperties[k.replace(/^ce-/i, "")] = v;
          onlyTypedErrors(() => decodeMqtt({ payload: b, properties: { contentType: ct, userProperties } }));
          onlyTypedErrors(() => decodeMqtt({ payload: b }));
          const applicationProperties: Record<string, unknown> = { cloudEvents_specversion: "1.0" };
          for (const [k, v] of Object.entries(props)) applicationProperties[`cloudEvents_${k}`] = v;
          onlyTypedErrors(() =>
            decodeAmqp({ applicationProperties: applicationProperties as never, body: b }),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("header value decoding", TIMEOUT, () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (v) => onlyTypedErrors(() => decodeHeaderValue(v, "ce-x"))),
      { numRuns: RUNS },
    );
  });

  it("stays fast on long adversarial input (no catastrophic backtracking)", TIMEOUT, () => {
    const long = (s: string) => s.repeat(50_000);
    const adversarial = [
      long("a:"),
      long("%"),
      `${long("a/")}\u0000`,
      `${long("text/plain;a=b")} `,
      `"${long('\\"')}`,
      `${long("ab=c,")}Z`,
      long("9"),
      `2024-01-01T00:00:00.${long("1")}X`,
    ];
    for (const value of adversarial) {
      const started = performance.now();
      onlyTypedErrors(() =>
        decodeHttp({
          headers: {
            "ce-specversion": "1.0",
            "ce-id": value,
            "ce-source": value,
            "ce-type": value,
            "ce-time": value,
            "ce-dataschema": value,
            "ce-tracestate": value,
            "ce-traceparent": value,
            "content-type": value,
          },
          body: value,
        }),
      );
      onlyTypedErrors(() =>
        decodeJsonEvent(
          JSON.stringify({
            specversion: "1.0",
            id: value,
            source: value,
            type: value,
            datacontenttype: value,
          }),
        ),
      );
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2_000, `took ${elapsed.toFixed(0)} ms on ${value.slice(0, 20)}…`);
    }
  });
});

// ---- Round trips of valid events through every binding ----

const ceString = fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter(isCeString);
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const extName = fc
  .stringMatching(/^[a-z][a-z0-9]{0,9}$/)
  .filter(
    (n) =>
      ![
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "subject",
        "dataschema",
        "datacontenttype",
        "data",
        "traceparent",
        "tracestate",
        "dataref",
        "expirytime",
        "constructor",
      ].includes(n),
  );
const jsonData = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const dataAndType = fc.oneof(
  fc.record({ data: jsonData }),
  fc.record({ datacontenttype: fc.constant("application/json"), data: jsonData }),
  fc.record({ datacontenttype: fc.constant("text/plain; charset=utf-8"), data: fc.string({ minLength: 1 }) }),
  fc.record({
    datacontenttype: fc.constant("application/octet-stream"),
    data: fc.uint8Array({ minLength: 1 }),
  }),
  fc.record({ data: fc.uint8Array({ minLength: 1 }) }),
  fc.constant({}),
);
const validEvent = fc
  .record({
    id: ceString,
    source: fc.webUrl(),
    type: ceString,
    subject: fc.option(ceString, { nil: undefined }),
    time: fc.option(
      fc.date({
        min: new Date("1970-01-01T00:00:00Z"),
        max: new Date("9999-12-31T23:59:59Z"),
        noInvalidDate: true,
      }),
      { nil: undefined },
    ),
    extensions: fc.dictionary(extName, fc.oneof(ceString, int32, fc.boolean()), { maxKeys: 4 }),
    payload: dataAndType,
  })
  .map(({ extensions, payload, ...attrs }) => new CloudEvent({ ...extensions, ...attrs, ...payload }));

/** What binary modes deliver: extensions as canonical strings, JSON-ish data labelled application/json. */
function asBinaryModeDelivers(e: CloudEvent): CloudEvent {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.extensionsRecord())) patch[k] = String(v);
  if (e.datacontenttype === undefined && "data" in e && !(e.data instanceof Uint8Array)) {
    patch["datacontenttype"] = "application/json";
  }
  return e.cloneWith(patch);
}

describe("property: valid events survive every binding", () => {
  it("structured modes and formats return the identical event", TIMEOUT, () => {
    fc.assert(
      fc.property(validEvent, (e) => {
        const json = encodeJsonEvent(e);
        assert.equal(schemaErrors(JSON.parse(json)), undefined, json);
        assert.deepEqual(decodeJsonEvent(json), e);
        assert.deepEqual(decodeHttp(encodeHttp(e, "structured")), [e]);
        assert.deepEqual(decodeHttp(encodeHttpBatch([e, e])), [e, e]);
        assert.deepEqual(decodeKafka(encodeKafka(e, "structured")), e);
        assert.deepEqual(decodeAmqp(encodeAmqp(e, "structured")), e);
        assert.deepEqual(decodeMqtt(encodeMqtt5(e, "structured")), e);
        assert.deepEqual(decodeMqtt(encodeMqtt3(e)), e);
        assert.deepEqual(decodeNats(encodeNats(e)), e);
        assert.deepEqual(decodeWebSocket(encodeWebSocket(e).data), e);
      }),
      { numRuns: 200 },
    );
  });

  it("binary modes return the event with string extensions (and AMQP keeps native types)", TIMEOUT, () => {
    fc.assert(
      fc.property(validEvent, (e) => {
        const expected = asBinaryModeDelivers(e);
        assert.deepEqual(decodeHttp(encodeHttp(e, "binary")), [expected]);
        assert.deepEqual(decodeKafka(encodeKafka(e, "binary")), expected);
        assert.deepEqual(decodeMqtt(encodeMqtt5(e, "binary")), expected);
        assert.deepEqual(decodeNats(encodeNats(e, "binary")), expected);
        const amqpExpected =
          e.datacontenttype === undefined && "data" in e && !(e.data instanceof Uint8Array)
            ? e.cloneWith({ datacontenttype: "application/json" })
            : e;
        assert.deepEqual(decodeAmqp(encodeAmqp(e, "binary")), amqpExpected);
      }),
      { numRuns: 200 },
    );
  });
});
