import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventDecodeError,
  CloudEventValidationError,
  decodeHeaderValue,
  decodeHttp,
  detectHttpMode,
  encodeHeaderValue,
  encodeHttp,
  encodeHttpBatch,
  type HttpMessage,
} from "@herald/cloudevents";
import { schemaErrors } from "./helpers/schema.js";

const base = {
  id: "1234-1234-1234",
  source: "/mycontext/subcontext",
  type: "com.example.someevent",
} as const;

function decodeOne(message: HttpMessage | Parameters<typeof decodeHttp>[0]): CloudEvent {
  const events = decodeHttp(message);
  assert.equal(events.length, 1);
  return events[0]!;
}

function decodeError(message: Parameters<typeof decodeHttp>[0]): CloudEventDecodeError {
  try {
    decodeHttp(message);
  } catch (err) {
    assert.ok(err instanceof CloudEventDecodeError, `expected CloudEventDecodeError, got ${err}`);
    return err;
  }
  assert.fail("decoded an invalid message");
}

describe("ce- header value percent-encoding", () => {
  it("encodes the spec's example and decodes it back", () => {
    assert.equal(encodeHeaderValue("Euro € 😀"), "Euro%20%E2%82%AC%20%F0%9F%98%80");
    assert.equal(decodeHeaderValue("Euro%20%E2%82%AC%20%F0%9F%98%80", "ce-x"), "Euro € 😀");
  });

  it("encodes only space, double-quote, percent and non-printable-ASCII", () => {
    assert.equal(encodeHeaderValue("a/b:c?d=e&f#g"), "a/b:c?d=e&f#g");
    assert.equal(encodeHeaderValue('say "100%"'), "say%20%22100%25%22");
    assert.equal(encodeHeaderValue("tab\there"), "tab%09here");
  });

  it("accepts lower-case hex, needless encoding, quoted strings and unencoded spaces", () => {
    assert.equal(decodeHeaderValue("%e2%82%ac", "ce-x"), "€");
    assert.equal(decodeHeaderValue("%41%42C", "ce-x"), "ABC");
    assert.equal(decodeHeaderValue('"quoted \\"value\\" here"', "ce-x"), 'quoted "value" here');
    assert.equal(decodeHeaderValue("plain old value", "ce-x"), "plain old value");
    assert.equal(decodeHeaderValue("100%", "ce-x"), "100%");
    assert.equal(decodeHeaderValue(" \t/padded%20value\t ", "ce-x"), "/padded value");
    assert.equal(decodeHeaderValue("%20kept%20", "ce-x"), " kept ");
  });

  it("rejects byte sequences that are not UTF-8, e.g. the overlong %C0%A0", () => {
    for (const bad of ["%C0%A0", "%FF", "%E2%82"]) {
      assert.throws(
        () => decodeHeaderValue(bad, "ce-x"),
        (err: unknown) => err instanceof CloudEventDecodeError && err.reason === "malformed",
        bad,
      );
    }
  });

  it("reads raw UTF-8 header bytes (node's latin1 view) as UTF-8", () => {
    const latin1View = Buffer.from("Grüße", "utf8").toString("latin1");
    assert.equal(decodeHeaderValue(latin1View, "ce-x"), "Grüße");
  });
});

describe("HTTP binary mode", () => {
  it("maps attributes to ce- headers and datacontenttype to Content-Type", () => {
    const e = new CloudEvent({
      ...base,
      time: "2018-04-05T03:56:24Z",
      subject: "a subject with spaces",
      datacontenttype: "application/json; charset=utf-8",
      count: 5,
      flag: true,
      bin: new Uint8Array([1, 2, 3]),
      data: { message: "Hello World!" },
    });
    const msg = encodeHttp(e, "binary");
    assert.deepEqual(msg.headers, {
      "ce-specversion": "1.0",
      "ce-id": "1234-1234-1234",
      "ce-source": "/mycontext/subcontext",
      "ce-type": "com.example.someevent",
      "ce-subject": "a%20subject%20with%20spaces",
      "ce-time": "2018-04-05T03:56:24Z",
      "ce-count": "5",
      "ce-flag": "true",
      "ce-bin": "AQID",
      "content-type": "application/json; charset=utf-8",
    });
    assert.equal(msg.body, '{"message":"Hello World!"}');
    const back = decodeOne(msg);
    assert.equal(back.subject, "a subject with spaces");
    assert.deepEqual(back.data, { message: "Hello World!" });
    // Binary mode carries every extension as its canonical string.
    assert.deepEqual(back.extensionsRecord(), { count: "5", flag: "true", bin: "AQID" });
  });

  it("round-trips text, bytes, JSON strings and no data", () => {
    const cases = [
      new CloudEvent({ ...base, datacontenttype: "text/plain; charset=utf-8", data: "Hello, 🌎!" }),
      new CloudEvent({ ...base, datacontenttype: "application/xml", data: "<msg>hi</msg>" }),
      new CloudEvent({
        ...base,
        datacontenttype: "application/octet-stream",
        data: new Uint8Array([0, 255]),
      }),
      new CloudEvent({ ...base, data: new Uint8Array([7]) }),
      new CloudEvent({ ...base, datacontenttype: "application/json", data: "a JSON string" }),
      new CloudEvent({ ...base, datacontenttype: "application/vnd.api+json", data: [1, { a: null }] }),
      new CloudEvent({ ...base, datacontenttype: "text/plain" }),
      new CloudEvent({ ...base }),
    ];
    for (const e of cases) assert.deepEqual(decodeOne(encodeHttp(e, "binary")), e);
  });

  it("copies a Buffer body into a plain Uint8Array the event owns", () => {
    const body = Buffer.from([1, 2, 3]);
    const e = decodeOne({
      headers: { "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t" },
      body,
    });
    assert.equal(Object.getPrototypeOf(e.data), Uint8Array.prototype);
    body[0] = 99;
    assert.deepEqual(e.data, new Uint8Array([1, 2, 3]));
    const given = new CloudEvent({ ...base, data: Buffer.from([4]) });
    assert.equal(Object.getPrototypeOf(given.data), Uint8Array.prototype);
  });

  it("sends non-binary data without a datacontenttype as application/json", () => {
    const e = new CloudEvent({ ...base, data: { a: 1 } });
    const msg = encodeHttp(e, "binary");
    assert.equal(msg.headers["content-type"], "application/json");
    assert.deepEqual(decodeOne(msg).data, { a: 1 });
  });

  it("reads header names case-insensitively and repeated values as arrays of one", () => {
    const e = decodeOne({
      headers: {
        "CE-SpecVersion": "1.0",
        "Ce-Id": ["1"],
        "ce-SOURCE": "/s",
        "ce-type": "t",
        "Content-Type": "text/plain",
        Host: "example.com",
      },
      body: new TextEncoder().encode("hi"),
    });
    assert.deepEqual(
      { id: e.id, source: e.source, type: e.type, ct: e.datacontenttype, data: e.data },
      { id: "1", source: "/s", type: "t", ct: "text/plain", data: "hi" },
    );
  });

  it("tells unsupported media type, malformed input and invalid events apart", () => {
    assert.equal(
      decodeError({ headers: { "content-type": "application/json" }, body: "{}" }).reason,
      "unsupported-media-type",
    );
    assert.equal(decodeError({ headers: {}, body: "" }).reason, "unsupported-media-type");
    // With ce- headers it is a CloudEvent attempt: a missing specversion is a validation issue.
    assert.throws(
      () => decodeHttp({ headers: { "ce-id": "1", "ce-source": "/s", "ce-type": "t" } }),
      (err: unknown) =>
        err instanceof CloudEventValidationError &&
        err.issues.map((i) => i.attribute).join() === "specversion",
    );
    const binary = { "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t" };
    assert.equal(
      decodeError({ headers: { ...binary, "content-type": "application/json" }, body: "{oops" }).reason,
      "malformed",
    );
    assert.equal(decodeError({ headers: { ...binary, "ce-id": ["1", "2"] } }).reason, "malformed");
    assert.equal(
      decodeError({ headers: { ...binary, "ce-datacontenttype": "text/plain" } }).reason,
      "malformed",
    );
    assert.equal(decodeError({ headers: { ...binary, "ce-subject": "%C0%A0" } }).reason, "malformed");
    assert.throws(
      () => decodeHttp({ headers: { ...binary, "ce-specversion": "0.3", "ce-time": "soon" } }),
      (err: unknown) =>
        err instanceof CloudEventValidationError &&
        err.issues.map((i) => i.attribute).join() === "specversion,time",
    );
  });
});

describe("HTTP structured and batched modes", () => {
  const e = new CloudEvent({
    ...base,
    datacontenttype: "application/json",
    data: { message: "Hello World!" },
  });

  it("structured: JSON event body with the CloudEvents content type", () => {
    const msg = encodeHttp(e, "structured");
    assert.equal(msg.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    assert.equal(schemaErrors(JSON.parse(msg.body as string)), undefined);
    assert.deepEqual(decodeOne(msg), e);
    assert.equal(detectHttpMode(msg.headers), "structured");
  });

  it("structured: ignores ce- headers, accepts bytes, rejects other formats", () => {
    const msg = encodeHttp(e, "structured");
    const bytes = new TextEncoder().encode(msg.body as string);
    assert.deepEqual(decodeOne({ headers: { ...msg.headers, "ce-id": "other" }, body: bytes }), e);
    const avro = decodeError({ headers: { "content-type": "application/cloudevents+avro" }, body: bytes });
    assert.equal(avro.reason, "unsupported-media-type");
    assert.equal(decodeError({ headers: msg.headers, body: "" }).reason, "malformed");
    assert.equal(decodeError({ headers: msg.headers, body: "[1]" }).reason, "malformed");
  });

  it("batch: many events (or none) in one body", () => {
    const other = e.cloneWith({ id: "2", data: new Uint8Array([1]) });
    const msg = encodeHttpBatch([e, other]);
    assert.equal(msg.headers["content-type"], "application/cloudevents-batch+json; charset=utf-8");
    assert.equal(detectHttpMode({ "Content-Type": msg.headers["content-type"] }), "batch");
    assert.deepEqual(decodeHttp(msg), [e, other]);
    assert.deepEqual(decodeHttp(encodeHttpBatch([])), []);
    assert.equal(
      decodeError({ headers: { "content-type": "application/cloudevents-batch+xml" }, body: "[]" }).reason,
      "unsupported-media-type",
    );
  });
});
