// Runs the CloudEvents conformance data (features and YAML events) through the HTTP binding.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type CloudEvent,
  CloudEventValidationError,
  decodeHttp,
  encodeHttp,
  isCeString,
  isJsonMediaType,
} from "@herald/cloudevents";
import YAML from "yaml";
import { keyValueTable, parseFeature, parseRawHttpRequest } from "./helpers/gherkin.js";
import { conformanceDir } from "./helpers/paths.js";
import { schemaErrors } from "./helpers/schema.js";

const httpDir = join(conformanceDir(), "http");

describe("conformance: http-protocol-binding.feature", () => {
  const scenarios = parseFeature(
    readFileSync(join(httpDir, "features", "http-protocol-binding.feature"), "utf8"),
  );
  assert.equal(scenarios.length, 4);
  for (const scenario of scenarios) {
    it(scenario.name, () => {
      const request = scenario.steps.find((s) => s.text === "an HTTP request")?.docString;
      const attributes = keyValueTable(scenario.steps.find((s) => s.text === "the attributes are:")?.table);
      const expectedData = scenario.steps.find((s) => s.text.startsWith("the data is equal"))?.docString;
      assert.ok(request !== undefined && expectedData !== undefined);
      const { headers, body } = parseRawHttpRequest(request);
      const [event] = decodeHttp({ headers, body: new TextEncoder().encode(body) });
      assert.ok(event !== undefined);
      for (const [key, value] of Object.entries(attributes)) assert.equal(event[key], value, key);
      assert.deepEqual(event.data, JSON.parse(expectedData));
    });
  }
});

interface YamlEvent {
  Mode?: string;
  ContextAttributes: Record<string, string> & { Extensions?: Record<string, string> };
  TransportExtensions?: Record<string, string>;
  Data?: string;
}

function loadYamlEvents(relative: string): YamlEvent[] {
  const text = readFileSync(join(httpDir, "yaml", relative), "utf8");
  return YAML.parseAllDocuments(text, { schema: "failsafe" })
    .map((doc) => doc.toJS() as YamlEvent | null)
    .filter((e): e is YamlEvent => e !== null);
}

/** The HTTP request the conformance tool builds for a YAML event (its pkg/http/http.go rules). */
function toolRequest(e: YamlEvent): { headers: Record<string, string>; body: string } {
  const { Extensions, ...attributes } = e.ContextAttributes;
  if (e.Mode === "structured") {
    const json: Record<string, unknown> = { ...attributes, ...Extensions };
    if (e.Data !== undefined) json["data"] = JSON.parse(e.Data);
    return {
      headers: { "Content-Type": "application/cloudevents+json; charset=UTF-8", ...e.TransportExtensions },
      body: JSON.stringify(json),
    };
  }
  const headers: Record<string, string> = { ...e.TransportExtensions };
  for (const [key, value] of Object.entries({ ...attributes, ...Extensions })) {
    if (value === "") continue;
    if (key === "datacontenttype") headers["Content-Type"] = value;
    else headers[`ce-${key}`] = value;
  }
  return { headers, body: e.Data ?? "" };
}

/** The event with surrounding whitespace trimmed from every attribute value. */
function trimmed(e: YamlEvent): YamlEvent {
  const trim = (r: Record<string, string>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.trim()]));
  const { Extensions, ...attributes } = e.ContextAttributes;
  return {
    ...e,
    ContextAttributes: {
      ...trim(attributes),
      ...(Extensions ? { Extensions: trim(Extensions) } : {}),
    } as YamlEvent["ContextAttributes"],
  };
}

function checkEvent(e: YamlEvent, event: CloudEvent): void {
  const { Extensions, ...attributes } = e.ContextAttributes;
  for (const [key, value] of Object.entries({ ...attributes, ...Extensions }))
    assert.equal(event[key], value, key);
  if (e.Data === undefined) return;
  const contentType = attributes["datacontenttype"];
  if (e.Mode === "structured" || (contentType !== undefined && isJsonMediaType(contentType))) {
    assert.deepEqual(event.data, JSON.parse(e.Data));
  } else if (typeof event.data === "string") {
    assert.equal(event.data, e.Data);
  } else {
    assert.deepEqual(event.data, new TextEncoder().encode(e.Data));
  }
}

for (const file of ["v1.yaml", "v1.0/v1_minimum.yaml"]) {
  describe(`conformance: yaml/${file}`, () => {
    for (let [index, e] of loadYamlEvents(file).entries()) {
      const { Extensions, ...attributes } = e.ContextAttributes;
      // Erratum: values with control characters (v1.yaml's block-scalar extension ends with "\n") break the
      // spec's String type ("U+000A ... not usable in HTTP headers"), so Herald must reject them, by name.
      const invalid = Object.entries({ ...attributes, ...Extensions })
        .filter(([, v]) => !isCeString(v))
        .map(([k]) => k);
      it(`#${index} ${e.Mode ?? "binary"} ${attributes["id"]}${invalid.length > 0 ? " (rejected: control characters)" : ""}`, () => {
        if (invalid.length > 0) {
          assert.throws(
            () => decodeHttp(toolRequest(e)),
            (err: unknown) =>
              err instanceof CloudEventValidationError &&
              err.issues.map((i) => i.attribute).join() === invalid.join(),
          );
          // The rest of the event is fine: with the trailing newline trimmed it must decode completely.
          e = trimmed(e);
        }
        const [event] = decodeHttp(toolRequest(e));
        assert.ok(event !== undefined);
        checkEvent(e, event);
        // Whatever was received re-encodes, in both modes, to the same event and to schema-valid JSON.
        for (const mode of ["binary", "structured"] as const) {
          const again: CloudEvent | undefined = decodeHttp(encodeHttp(event, mode))[0];
          // Binary mode sends non-binary data without a datacontenttype as application/json.
          const defaulted: boolean =
            mode === "binary" && event.datacontenttype === undefined && event.data !== undefined
              ? !(event.data instanceof Uint8Array)
              : false;
          assert.deepEqual(
            again,
            defaulted ? event.cloneWith({ datacontenttype: "application/json" }) : event,
            mode,
          );
        }
        assert.equal(schemaErrors(JSON.parse(encodeHttp(event, "structured").body as string)), undefined);
      });
    }
  });
}

for (const file of ["v03.yaml", "v0.3/v03_minimum.yaml"]) {
  it(`conformance: yaml/${file} (spec 0.3) is rejected with a specversion issue`, () => {
    const events = loadYamlEvents(file);
    assert.ok(events.length > 0);
    for (const e of events) {
      assert.throws(
        () => decodeHttp(toolRequest(e)),
        (err: unknown) =>
          err instanceof CloudEventValidationError && err.issues.some((i) => i.attribute === "specversion"),
      );
    }
  });
}
