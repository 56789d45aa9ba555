import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_JSON_MEDIA_TYPE,
  DEAD_LETTER_STREAM_PREFIX,
  deadLetterStream,
  EXPECTED_VERSION_HEADER,
  isSystemStream,
  PROBLEM_JSON_MEDIA_TYPE,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from "../src/index.js";

describe("wire names", () => {
  it("spells header names in lower case, as node:http hands them over", () => {
    for (const name of [
      EXPECTED_VERSION_HEADER,
      WEBHOOK_ID_HEADER,
      WEBHOOK_SIGNATURE_HEADER,
      WEBHOOK_TIMESTAMP_HEADER,
    ]) {
      assert.equal(name, name.toLowerCase());
    }
    assert.equal(EXPECTED_VERSION_HEADER, "herald-expected-version");
  });
  it("names the media types of the CloudEvents JSON format and RFC 9457", () => {
    assert.equal(CLOUDEVENTS_JSON_MEDIA_TYPE, "application/cloudevents+json");
    assert.equal(CLOUDEVENTS_BATCH_MEDIA_TYPE, "application/cloudevents-batch+json");
    assert.equal(PROBLEM_JSON_MEDIA_TYPE, "application/problem+json");
  });
  it("puts dead letters in a system stream per subscription", () => {
    assert.equal(deadLetterStream("orders"), "$deadletter-orders");
    assert.ok(deadLetterStream("x").startsWith(DEAD_LETTER_STREAM_PREFIX));
    assert.ok(isSystemStream(deadLetterStream("x")));
    assert.equal(isSystemStream("orders"), false);
    assert.equal(isSystemStream(""), false);
  });
});
