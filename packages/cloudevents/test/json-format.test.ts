import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventDecodeError,
  CloudEventValidationError,
  decodeJsonBatch,
  decodeJsonEvent,
  decodeJsonEventObject,
  decodeTrustedJsonEvent,
  encodeJsonBatch,
  encodeJsonEvent,
  isJsonMediaType,
} from "@herald/cloudevents";
import { schemaErrors } from "./helpers/schema.js";

const base = { source: "/mycontext", type: "com.example.someevent" } as const;

function decodeFails(input: string | Uint8Array): CloudEventDecodeError | CloudEventValidationError {
  try {
    decodeJsonEvent(input);
  } catch (err) {
    if (err instanceof CloudEventDecodeError || err instanceof CloudEventValidationError) return err;
    throw err;
  }
  assert.fail("decoded invalid input");
}

describe("JSON event format", () => {
  it("decodes the spec's example (json-format.md §5)", () => {
    const text = `{
      "specversion" : "1.0",
      "type" : "com.example.someevent",
      "source" : "/mycontext",
      "id" : "A234-1234-1234",
      "time" : "2018-04-05T17:31:00Z",
      "comexampleextension1" : "value",
      "comexampleothervalue" : 5,
      "unsetextension": null,
      "datacontenttype" : "application/xml",
      "data" : "<much wow=\\"xml\\"/>"
    }`;
    const e = decodeJsonEvent(text);
    assert.equal(e.id, "A234-1234-1234");
    assert.equal(e.time, "2018-04-05T17:31:00Z");
    assert.equal(e.datacontenttype, "application/xml");
    assert.equal(e.data, '<much wow="xml"/>');
    assert.deepEqual(e.extensionsRecord(), { comexampleextension1: "value", comexampleothervalue: 5 });
  });

  it("decodes data_base64 into bytes and encodes bytes back as data_base64", () => {
    const e = decodeJsonEvent(
      `{"specversion":"1.0","type":"t","source":"/s","id":"1","datacontenttype":"application/octet-stream","data_base64":"Zm9vYg=="}`,
    );
    assert.deepEqual(e.data, new TextEncoder().encode("foob"));
    const json = JSON.parse(encodeJsonEvent(e));
    assert.equal(json.data_base64, "Zm9vYg==");
    assert.equal("data" in json, false);
    assert.equal(schemaErrors(json), undefined);
  });

  it("round-trips every kind of data and extension", () => {
    const events = [
      new CloudEvent({ ...base, id: "1", data: { nested: [1, "two", null, true] } }),
      new CloudEvent({ ...base, id: "2", datacontenttype: "text/plain", data: "plain text" }),
      new CloudEvent({ ...base, id: "3", datacontenttype: "application/json", data: "a JSON string" }),
      new CloudEvent({ ...base, id: "4", datacontenttype: "application/vnd.api+json", data: [1, 2] }),
      new CloudEvent({ ...base, id: "5", data: new Uint8Array([0, 255, 128]) }),
      new CloudEvent({ ...base, id: "6", data: null }),
      new CloudEvent({
        ...base,
        id: "7",
        num: 7,
        flag: true,
        text: "x",
        subject: "s",
        time: "2020-01-01T00:00:00Z",
      }),
    ];
    for (const e of events) {
      const text = encodeJsonEvent(e);
      assert.equal(schemaErrors(JSON.parse(text)), undefined, text);
      const back = decodeJsonEvent(text);
      assert.deepEqual(back, e);
      assert.deepEqual(Object.keys(back), Object.keys(e));
    }
  });

  it("accepts UTF-8 bytes with or without a BOM", () => {
    const e = new CloudEvent({ ...base, id: "1", subject: "🌎" });
    const bytes = new TextEncoder().encode(encodeJsonEvent(e));
    assert.deepEqual(decodeJsonEvent(bytes), e);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
    assert.deepEqual(decodeJsonEvent(withBom), e);
  });

  it("requires specversion and id, and treats null optional members as absent", () => {
    const noVersion = decodeFails(`{"type":"t","source":"/s","id":"1"}`);
    assert.ok(noVersion instanceof CloudEventValidationError);
    assert.deepEqual(
      noVersion.issues.map((i) => i.attribute),
      ["specversion"],
    );
    const noId = decodeFails(`{"specversion":"1.0","type":"t","source":"/s"}`);
    assert.ok(noId instanceof CloudEventValidationError);
    assert.deepEqual(
      noId.issues.map((i) => i.attribute),
      ["id"],
    );
    const e = decodeJsonEvent(
      `{"specversion":"1.0","type":"t","source":"/s","id":"1","subject":null,"time":null,"datacontenttype":null,"dataschema":null,"ext":null}`,
    );
    assert.deepEqual(Object.keys(e), ["specversion", "id", "source", "type"]);
  });

  it("reports a malformed body as CloudEventDecodeError('malformed')", () => {
    for (const bad of ["", "{", "[]", "null", "42", '"event"', "{'a':1}"]) {
      const err = decodeFails(bad);
      assert.ok(err instanceof CloudEventDecodeError, bad);
      assert.equal(err.reason, "malformed");
    }
    const invalidUtf8 = decodeFails(new Uint8Array([0x7b, 0xff, 0x7d]));
    assert.ok(invalidUtf8 instanceof CloudEventDecodeError);
    assert.equal(invalidUtf8.reason, "malformed");
  });

  it("reports invalid attributes of a well-formed body as CloudEventValidationError", () => {
    const err = decodeFails(
      `{"specversion":"1.0","type":"t","source":"/s","id":"1","data":1,"data_base64":"AA=="}`,
    );
    assert.ok(err instanceof CloudEventValidationError);
    assert.deepEqual(
      err.issues.map((i) => i.attribute),
      ["data_base64"],
    );
    assert.throws(() => decodeJsonEventObject([]), CloudEventDecodeError);
  });

  it("decodeTrustedJsonEvent reads back what encodeJsonEvent wrote, without validating again", () => {
    const e = new CloudEvent({
      ...base,
      id: "1",
      n: 3,
      data: new Uint8Array([5]),
      time: "2024-01-01T00:00:00Z",
    });
    const back = decodeTrustedJsonEvent(encodeJsonEvent(e));
    assert.deepEqual(back, e);
    assert.ok(Object.isFrozen(back));
    // It trusts its input: this invalid time would be rejected by decodeJsonEvent.
    const unchecked = decodeTrustedJsonEvent(
      `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"x"}`,
    );
    assert.equal(unchecked.time, "x");
    assert.throws(() =>
      decodeJsonEvent(`{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"x"}`),
    );
    assert.throws(() => decodeTrustedJsonEvent("[1]"), CloudEventDecodeError);
    const proto = decodeTrustedJsonEvent(
      `{"__proto__":{"x":1},"specversion":"1.0","id":"1","source":"/s","type":"t"}`,
    );
    assert.ok(proto instanceof CloudEvent);
    assert.equal(typeof proto.cloneWith, "function");
  });

  it("encodes a value JSON cannot hold as a typed error", () => {
    const e = new CloudEvent({ ...base, data: { n: 1n } });
    assert.throws(() => encodeJsonEvent(e), CloudEventValidationError);
  });
});

describe("JSON batch format", () => {
  it("round-trips a batch, including the empty one", () => {
    const events = [
      new CloudEvent({ ...base, id: "1", data: { a: 1 } }),
      new CloudEvent({ ...base, id: "2", data: new Uint8Array([1]) }),
    ];
    const text = encodeJsonBatch(events);
    const parsed = JSON.parse(text) as unknown[];
    assert.equal(parsed.length, 2);
    for (const item of parsed) assert.equal(schemaErrors(item), undefined);
    assert.deepEqual(decodeJsonBatch(text), events);
    assert.deepEqual(decodeJsonBatch("[]"), []);
    assert.equal(encodeJsonBatch([]), "[]");
  });

  it("rejects the whole batch, naming every invalid event by index", () => {
    const text = JSON.stringify([
      { specversion: "1.0", id: "1", source: "/s", type: "t" },
      { specversion: "1.0", id: "2", source: "/s" },
      "not an event",
      { specversion: "1.0", id: "", source: "/s", type: "t", time: "later" },
    ]);
    try {
      decodeJsonBatch(text);
      assert.fail("accepted an invalid batch");
    } catch (err) {
      assert.ok(err instanceof CloudEventValidationError);
      assert.deepEqual(
        err.issues.map((i) => `${i.index}:${i.attribute}`),
        ["1:type", "2:(event)", "3:id", "3:time"],
      );
    }
  });

  it("rejects a batch that is not an array as malformed", () => {
    for (const bad of ["{}", "", "[", "null"]) {
      assert.throws(
        () => decodeJsonBatch(bad),
        (err: unknown) => err instanceof CloudEventDecodeError && err.reason === "malformed",
      );
    }
  });
});

describe("isJsonMediaType", () => {
  it("is true for absent, application/json and +json suffixes", () => {
    for (const ct of [
      undefined,
      "application/json",
      "Application/JSON; charset=utf-8",
      "application/cloudevents+json",
      "application/vnd.api+json;v=1",
      " application/ld+json ",
    ]) {
      assert.equal(isJsonMediaType(ct), true, String(ct));
    }
  });

  it("is false for everything else", () => {
    for (const ct of [
      "text/plain",
      "application/xml",
      "application/jsonx",
      "application/json-seq",
      "text/json+xml",
    ]) {
      assert.equal(isJsonMediaType(ct), false, ct);
    }
  });
});
