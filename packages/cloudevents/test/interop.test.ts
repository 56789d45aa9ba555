// Interoperability with the official `cloudevents` SDK, both ways, over HTTP (binary, structured) and Kafka.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  decodeHttp,
  decodeKafka,
  encodeHttp,
  encodeHttpBatch,
  encodeKafka,
  type HttpHeadersInput,
} from "@herald/cloudevents";
import { Kafka as SdkKafka, HTTP as SdkHttp, CloudEvent as SdkEvent } from "cloudevents";

// The SDK rewrites `time` through Date (millisecond ISO form), so test times already have that form.
const TIME = "2024-05-01T12:00:00.000Z";

/**
 * Ids are slugs: the SDK does not percent-decode ce- headers (HTTP binding 1.0.2 §3.1.3.2), so a value with a
 * space would reach it as "%20" — a gap on its side, documented in the README.
 */
const slug = (name: string) => name.replace(/[^a-z0-9]+/g, "-");

/** An event's members as a plain record, comparable across both libraries (bytes as plain Uint8Array). */
function plain(event: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const record = event as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (value === undefined || key === "data_base64") continue;
    // The SDK decodes data_base64 into a Uint32Array holding one byte per element: compare the byte values.
    out[key] = ArrayBuffer.isView(value) ? Uint8Array.from(value as unknown as ArrayLike<number>) : value;
  }
  return out;
}

/** What a real transport does to the SDK's in-memory message: header values become strings, objects JSON. */
function overTheWire(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = String(v);
  return out;
}

function wireValue(value: unknown): string | Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  return JSON.stringify(value);
}

type Extra = Record<string, unknown>;

const inits: [string, Extra][] = [
  ["JSON data", { datacontenttype: "application/json", data: { order: 1, items: ["a", "b"] } }],
  ["text data", { datacontenttype: "text/plain", data: "hello" }],
  ["binary data", { datacontenttype: "application/octet-stream", data: new Uint8Array([0, 1, 254, 255]) }],
  ["no data", {}],
  [
    "subject, dataschema and extensions",
    {
      datacontenttype: "application/json",
      subject: "order/1",
      dataschema: "https://example.com/schema.json",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      partitionkey: "customer-7",
      tenant: "acme",
      data: { ok: true },
    },
  ],
];

/** Attributes both libraries' constructors accept (time as a string). */
interface Attrs {
  id: string;
  source: string;
  type: string;
  time: string;
  [extension: string]: unknown;
}

function attrs(extra: Extra, id: string): Attrs {
  return { ...extra, id, source: "/interop/tests", type: "com.example.interop", time: TIME };
}

describe("official SDK -> Herald", () => {
  for (const [name, extra] of inits) {
    const sdk = new SdkEvent(attrs(extra, `sdk-${slug(name)}`));
    const expected = plain(sdk);

    it(`HTTP binary: ${name}`, () => {
      const msg = SdkHttp.binary(sdk);
      const [event] = decodeHttp({
        headers: overTheWire(msg.headers) as HttpHeadersInput,
        body: wireValue(msg.body),
      });
      // The SDK always sends a Content-Type in binary mode (its default is application/json).
      const sent = {
        ...expected,
        datacontenttype: expected["datacontenttype"] ?? "application/json; charset=utf-8",
      };
      assert.deepEqual(plain(event!), sent);
    });

    it(`HTTP structured: ${name}`, () => {
      const msg = SdkHttp.structured(sdk);
      const [event] = decodeHttp({
        headers: overTheWire(msg.headers) as HttpHeadersInput,
        body: wireValue(msg.body),
      });
      assert.deepEqual(plain(event!), expected);
    });

    it(`Kafka binary: ${name}`, () => {
      const msg = SdkKafka.binary(sdk);
      const event = decodeKafka({
        key: msg.key ?? null,
        headers: overTheWire(msg.headers),
        value: wireValue(msg.value),
      });
      assert.deepEqual(plain(event), expected);
    });

    it(`Kafka structured: ${name}`, () => {
      const msg = SdkKafka.structured(sdk);
      const event = decodeKafka({
        key: msg.key ?? null,
        headers: overTheWire(msg.headers),
        value: wireValue(msg.value),
      });
      assert.deepEqual(plain(event), expected);
    });
  }

  it("typed extensions survive structured mode with their types", () => {
    const sdk = new SdkEvent(attrs({ count: 42, flag: true }, "typed"));
    const [event] = decodeHttp(SdkHttp.structured(sdk) as { headers: HttpHeadersInput; body: string });
    assert.deepEqual(event!.extensionsRecord(), { count: 42, flag: true });
  });
});

describe("official SDK -> Herald: typed extensions in binary modes", () => {
  it("arrive as their canonical strings", () => {
    const sdk = new SdkEvent(attrs({ count: 42, flag: true }, "typed-binary"));
    const http = SdkHttp.binary(sdk);
    const [fromHttp] = decodeHttp({
      headers: overTheWire(http.headers) as HttpHeadersInput,
      body: wireValue(http.body),
    });
    assert.deepEqual(fromHttp!.extensionsRecord(), { count: "42", flag: "true" });
    const kafka = SdkKafka.binary(sdk);
    const fromKafka = decodeKafka({ headers: overTheWire(kafka.headers), value: wireValue(kafka.value) });
    assert.deepEqual(fromKafka.extensionsRecord(), { count: "42", flag: "true" });
  });
});

describe("Herald -> official SDK", () => {
  it("HTTP batch: the SDK reads every event of a Herald batch", () => {
    const events = inits.map(([name, extra]) => new CloudEvent(attrs(extra, `batch-${slug(name)}`)));
    const sdk = SdkHttp.toEvent(encodeHttpBatch(events));
    assert.ok(Array.isArray(sdk));
    assert.deepEqual(
      sdk.map((e) => plain(e)),
      events.map((e) => plain(e)),
    );
  });

  for (const [name, extra] of inits) {
    const herald = new CloudEvent(attrs(extra, `herald-${slug(name)}`));
    const expected = plain(herald);

    for (const mode of ["binary", "structured"] as const) {
      it(`HTTP ${mode}: ${name}`, () => {
        const msg = encodeHttp(herald, mode);
        const sdk = SdkHttp.toEvent({ headers: msg.headers, body: msg.body });
        assert.ok(!Array.isArray(sdk));
        // An event without data has an empty binary-mode body, which the SDK reads as the data "".
        const sdkView = mode === "binary" && !("data" in herald) ? { ...expected, data: "" } : expected;
        assert.deepEqual(plain(sdk as object), sdkView);
      });

      it(`Kafka ${mode}: ${name}`, () => {
        const msg = encodeKafka(herald, mode, { keyFromPartitionKey: true });
        if (msg.value === null) return; // the SDK cannot read a tombstone (it requires a value)
        const input = { key: msg.key as string, headers: msg.headers, value: msg.value, body: msg.value };
        const sdk = SdkKafka.toEvent(input as Parameters<typeof SdkKafka.toEvent>[0]);
        assert.ok(!Array.isArray(sdk));
        assert.deepEqual(plain(sdk as object), expected);
      });
    }
  }

  it("typed extensions survive structured mode with their types", () => {
    const herald = new CloudEvent(attrs({ count: 42, flag: true }, "typed"));
    const sdk = SdkHttp.toEvent(encodeHttp(herald, "structured")) as SdkEvent;
    assert.equal(sdk["count"], 42);
    assert.equal(sdk["flag"], true);
  });
});
