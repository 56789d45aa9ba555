import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CloudEvent, CloudEventDecodeError, decodeKafka, encodeKafka } from "@herald/cloudevents";
import { keyValueTable, parseFeature } from "./helpers/gherkin.js";
import { conformanceDir } from "./helpers/paths.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("conformance: kafka-protocol-binding.feature", () => {
  const feature = readFileSync(
    join(conformanceDir(), "http", "features", "kafka-protocol-binding.feature"),
    "utf8",
  );
  const scenarios = parseFeature(feature);
  assert.equal(scenarios.length, 3);
  for (const scenario of scenarios) {
    it(scenario.name, () => {
      const payload = scenario.steps.find((s) => s.text === "a Kafka message with payload:")?.docString;
      const headers = keyValueTable(scenario.steps.find((s) => s.text === "Kafka headers:")?.table);
      const attributes = keyValueTable(scenario.steps.find((s) => s.text === "the attributes are:")?.table);
      const data = scenario.steps.find((s) => s.text.startsWith("the data is equal"))?.docString;
      assert.ok(payload !== undefined && data !== undefined);
      // Kafka clients hand header values over as Buffers.
      const bufferHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
      const event = decodeKafka({ key: null, headers: bufferHeaders, value: utf8(payload) });
      for (const [key, value] of Object.entries(attributes)) assert.equal(event[key], value, key);
      assert.deepEqual(event.data, JSON.parse(data));
    });
  }
});

describe("Kafka binding", () => {
  const e = new CloudEvent({
    specversion: "1.0",
    type: "com.example.someevent",
    source: "/mycontext/subcontext",
    id: "1234-1234-1234",
    time: "2018-04-05T03:56:24Z",
    datacontenttype: "application/avro",
    partitionkey: "mykey",
    count: 3,
    data: new Uint8Array([0x02, 0x0a]),
  });

  it("binary mode: the spec's example (ce_ headers, content-type, data as value)", () => {
    const msg = encodeKafka(e, "binary");
    assert.deepEqual(msg.headers, {
      ce_specversion: "1.0",
      ce_id: "1234-1234-1234",
      ce_source: "/mycontext/subcontext",
      ce_type: "com.example.someevent",
      ce_time: "2018-04-05T03:56:24Z",
      ce_partitionkey: "mykey",
      ce_count: "3",
      "content-type": "application/avro",
    });
    assert.deepEqual(msg.value, new Uint8Array([0x02, 0x0a]));
    assert.equal(msg.key, undefined, "the key is the user's unless the partitionkey mapper is on");
    const back = decodeKafka(msg);
    assert.deepEqual(back, e.cloneWith({ count: "3" }));
  });

  it("key mapping: user key by default, partitionkey opt-in, never changes the event", () => {
    assert.equal(encodeKafka(e, "binary", { key: "user" }).key, "user");
    assert.equal(encodeKafka(e, "binary", { keyFromPartitionKey: true }).key, "mykey");
    assert.equal(encodeKafka(e, "structured", { keyFromPartitionKey: true }).key, "mykey");
    const noPk = e.cloneWith({ partitionkey: undefined });
    assert.equal(encodeKafka(noPk, "binary", { keyFromPartitionKey: true }).key, undefined);
    assert.equal(decodeKafka({ ...encodeKafka(noPk), key: "k" })["partitionkey"], undefined);
  });

  it("binary mode: an event without data is a record without value (tombstone)", () => {
    const bare = new CloudEvent({ id: "1", source: "/s", type: "t" });
    const msg = encodeKafka(bare, "binary");
    assert.equal(msg.value, null);
    assert.deepEqual(decodeKafka(msg), bare);
  });

  it("structured mode: JSON event value with the CloudEvents content-type", () => {
    const msg = encodeKafka(e, "structured");
    assert.equal(msg.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    assert.deepEqual(decodeKafka(msg), e);
    assert.deepEqual(
      decodeKafka({
        headers: { "content-type": Buffer.from(msg.headers["content-type"]!) },
        value: utf8(msg.value as string),
      }),
      e,
    );
  });

  it("typed errors for foreign records and broken values", () => {
    const reason = (input: Parameters<typeof decodeKafka>[0]) => {
      try {
        decodeKafka(input);
      } catch (err) {
        assert.ok(err instanceof CloudEventDecodeError);
        return err.reason;
      }
      assert.fail("decoded");
    };
    assert.equal(reason({ headers: {}, value: "{}" }), "unsupported-media-type");
    assert.equal(
      reason({ headers: { "content-type": "application/cloudevents+avro" }, value: "x" }),
      "unsupported-media-type",
    );
    assert.equal(
      reason({ headers: { "content-type": "application/cloudevents+json" }, value: null }),
      "malformed",
    );
    assert.equal(
      reason({ headers: { "content-type": "application/cloudevents+json" }, value: "{x" }),
      "malformed",
    );
    assert.equal(reason({ headers: { ce_specversion: Buffer.from([0xff]) }, value: null }), "malformed");
  });
});
