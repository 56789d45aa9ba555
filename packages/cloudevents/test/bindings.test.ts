// AMQP, MQTT, NATS and WebSocket bindings, each with its binding spec's example.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventDecodeError,
  CloudEventValidationError,
  chooseWebSocketSubprotocol,
  decodeAmqp,
  decodeMqtt,
  decodeNats,
  decodeWebSocket,
  encodeAmqp,
  encodeMqtt3,
  encodeMqtt5,
  encodeNats,
  encodeWebSocket,
} from "@herald/cloudevents";

const example = {
  specversion: "1.0",
  type: "com.example.someevent",
  time: "2018-04-05T03:56:24Z",
  id: "1234-1234-1234",
  source: "/mycontext/subcontext",
} as const;
const jsonData = { message: "Hello World!" };
const utf8 = (s: string) => new TextEncoder().encode(s);

function decodeReason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CloudEventDecodeError, `expected CloudEventDecodeError, got ${err}`);
    return err.reason;
  }
  assert.fail("decoded");
}

describe("AMQP binding", () => {
  it("decodes the spec's binary example (cloudEvents: prefix, content-type property)", () => {
    const e = decodeAmqp({
      contentType: "application/json; charset=utf-8",
      applicationProperties: {
        "cloudEvents:specversion": "1.0",
        "cloudEvents:type": "com.example.someevent",
        "cloudEvents:time": "2018-04-05T03:56:24Z",
        "cloudEvents:id": "1234-1234-1234",
        "cloudEvents:source": "/mycontext/subcontext",
        "x-opt-other": "ignored",
      },
      body: utf8(JSON.stringify(jsonData)),
    });
    assert.deepEqual(
      e,
      new CloudEvent({ ...example, datacontenttype: "application/json; charset=utf-8", data: jsonData }),
    );
  });

  it("encodes with cloudEvents_ and native types, and reads native types back", () => {
    const e = new CloudEvent({ ...example, count: 7, flag: false, bin: new Uint8Array([1]), data: jsonData });
    const msg = encodeAmqp(e);
    assert.deepEqual(msg.applicationProperties, {
      cloudEvents_specversion: "1.0",
      cloudEvents_id: "1234-1234-1234",
      cloudEvents_source: "/mycontext/subcontext",
      cloudEvents_type: "com.example.someevent",
      cloudEvents_time: "2018-04-05T03:56:24Z",
      cloudEvents_count: 7,
      cloudEvents_flag: false,
      cloudEvents_bin: new Uint8Array([1]),
    });
    assert.equal(msg.contentType, "application/json");
    assert.deepEqual(decodeAmqp(msg), e.cloneWith({ datacontenttype: "application/json" }));
    // AMQP timestamp (Date) and long (bigint) are accepted on the way in.
    const native = decodeAmqp({
      applicationProperties: {
        ...msg.applicationProperties,
        cloudEvents_time: new Date("2018-04-05T03:56:24Z"),
        cloudEvents_count: 7n,
      },
    });
    assert.equal(native.time, "2018-04-05T03:56:24.000Z");
    assert.equal(native["count"], 7);
    assert.throws(
      () =>
        decodeAmqp({ applicationProperties: { ...msg.applicationProperties, cloudEvents_count: 2n ** 40n } }),
      CloudEventValidationError,
    );
  });

  it("structured mode and typed errors", () => {
    const e = new CloudEvent({ ...example, data: jsonData });
    const msg = encodeAmqp(e, "structured");
    assert.equal(msg.contentType, "application/cloudevents+json; charset=utf-8");
    assert.deepEqual(decodeAmqp(msg), e);
    assert.equal(
      decodeReason(() => decodeAmqp({ applicationProperties: {}, body: "{}" })),
      "unsupported-media-type",
    );
    assert.equal(
      decodeReason(() => decodeAmqp({ contentType: msg.contentType!, body: "" })),
      "malformed",
    );
  });
});

describe("MQTT binding", () => {
  it("decodes the spec's MQTT 5 binary example (User Properties, Content Type)", () => {
    const e = decodeMqtt({
      payload: utf8(JSON.stringify(jsonData)),
      properties: {
        contentType: "application/json; charset=utf-8",
        userProperties: {
          specversion: "1.0",
          type: "com.example.someevent",
          time: "2018-04-05T03:56:24Z",
          id: "1234-1234-1234",
          source: "/mycontext/subcontext",
          datacontenttype: "application/json; charset=utf-8",
          "App-Header": "not an attribute, ignored",
        },
      },
    });
    assert.deepEqual(
      e,
      new CloudEvent({ ...example, datacontenttype: "application/json; charset=utf-8", data: jsonData }),
    );
  });

  it("MQTT 5 binary and structured round trips", () => {
    const e = new CloudEvent({ ...example, datacontenttype: "text/plain", tenant: "acme", data: "hello" });
    const binary = encodeMqtt5(e);
    assert.deepEqual(binary.properties, {
      userProperties: {
        specversion: "1.0",
        id: "1234-1234-1234",
        source: "/mycontext/subcontext",
        type: "com.example.someevent",
        time: "2018-04-05T03:56:24Z",
        tenant: "acme",
      },
      contentType: "text/plain",
    });
    assert.equal(binary.payload, "hello");
    assert.deepEqual(decodeMqtt(binary), e);
    const structured = encodeMqtt5(e, "structured");
    assert.equal(structured.properties?.contentType, "application/cloudevents+json; charset=utf-8");
    assert.deepEqual(decodeMqtt(structured), e);
  });

  it("MQTT 3.1.1: structured only, JSON format implied", () => {
    const e = new CloudEvent({ ...example, data: jsonData });
    const msg = encodeMqtt3(e);
    assert.equal(msg.properties, undefined);
    assert.deepEqual(decodeMqtt({ payload: utf8(msg.payload as string) }), e);
    assert.equal(
      decodeReason(() => decodeMqtt({ payload: "not json" })),
      "malformed",
    );
    assert.equal(
      decodeReason(() => decodeMqtt({ payload: "x", properties: { contentType: "text/plain" } })),
      "unsupported-media-type",
    );
  });
});

describe("NATS binding", () => {
  it("structured (1.0.2): the payload is the JSON event, with or without headers", () => {
    const e = new CloudEvent({ ...example, data: jsonData });
    const msg = encodeNats(e);
    assert.equal(msg.headers, undefined);
    assert.deepEqual(decodeNats({ data: utf8(msg.data as string) }), e);
    const withHeaders = encodeNats(e, "structured", { withHeaders: true });
    assert.equal(withHeaders.headers?.["content-type"], "application/cloudevents+json; charset=utf-8");
    assert.deepEqual(decodeNats(withHeaders), e);
  });

  it("binary (NATS 2.2+ headers): the spec's example with ce-datacontenttype", () => {
    const e = decodeNats({
      headers: {
        "ce-specversion": "1.0",
        "ce-type": "com.example.someevent",
        "ce-time": "2018-04-05T03:56:24Z",
        "ce-id": "1234-1234-1234",
        "ce-source": "/mycontext/subcontext",
        "ce-datacontenttype": "application/json",
      },
      data: utf8(JSON.stringify(jsonData)),
    });
    assert.deepEqual(e, new CloudEvent({ ...example, datacontenttype: "application/json", data: jsonData }));
    const rich = new CloudEvent({ ...example, subject: "Euro € 😀", data: new Uint8Array([9]) });
    const msg = encodeNats(rich, "binary");
    assert.equal(msg.headers?.["ce-subject"], "Euro%20%E2%82%AC%20%F0%9F%98%80");
    assert.deepEqual(decodeNats(msg), rich);
  });

  it("typed errors", () => {
    assert.equal(
      decodeReason(() => decodeNats({ data: "" })),
      "malformed",
    );
    assert.equal(
      decodeReason(() =>
        decodeNats({ headers: { "content-type": "application/cloudevents+proto" }, data: "x" }),
      ),
      "unsupported-media-type",
    );
  });
});

describe("WebSocket binding", () => {
  it("negotiates cloudevents.json from the spec's handshake example", () => {
    assert.equal(chooseWebSocketSubprotocol("cloudevents.json, cloudevents.avro"), "cloudevents.json");
    assert.equal(chooseWebSocketSubprotocol(["cloudevents.avro", "cloudevents.json"]), "cloudevents.json");
    assert.equal(chooseWebSocketSubprotocol("cloudevents.avro"), undefined);
    assert.equal(chooseWebSocketSubprotocol(undefined), undefined);
  });

  it("sends one JSON event per text frame and reads text or binary frames", () => {
    const e = new CloudEvent({ ...example, data: jsonData });
    const frame = encodeWebSocket(e);
    assert.equal(frame.binary, false);
    assert.deepEqual(decodeWebSocket(frame.data), e);
    assert.deepEqual(decodeWebSocket(utf8(frame.data)), e);
    assert.equal(
      decodeReason(() => decodeWebSocket(frame.data, "cloudevents.avro")),
      "unsupported-media-type",
    );
    assert.equal(
      decodeReason(() => decodeWebSocket("[]")),
      "malformed",
    );
  });
});
