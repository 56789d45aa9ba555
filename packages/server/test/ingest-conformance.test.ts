// The CloudEvents HTTP conformance events (conformance/http/yaml), sent to POST /events the way the
// conformance tool sends them, must come back from GET /events with every attribute and the same data.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { get, type Page, post, withServer } from "./server-harness.js";
import { conformanceDir } from "./support/conformance.js";

const httpYamlDir = join(conformanceDir(), "http", "yaml");

interface ConformanceEvent {
  Mode?: string;
  ContextAttributes: Record<string, string> & { Extensions?: Record<string, string> };
  TransportExtensions?: Record<string, string>;
  Data?: string;
}

function load(file: string): ConformanceEvent[] {
  const text = readFileSync(join(httpYamlDir, file), "utf8");
  return YAML.parseAllDocuments(text, { schema: "failsafe" })
    .map((doc) => doc.toJSON() as ConformanceEvent | null)
    .filter((doc): doc is ConformanceEvent => doc !== null);
}

/** The request as the conformance tool builds it (header values trimmed: a newline cannot be sent). */
function toRequest(event: ConformanceEvent): { headers: Record<string, string>; body: string } {
  const { Extensions = {}, ...attributes } = event.ContextAttributes;
  // Values are trimmed: the YAML block scalars end in a newline, a control character that neither an HTTP
  // header nor the CloudEvents String type can carry (the same erratum the cloudevents package applies).
  const all = Object.fromEntries(
    Object.entries({ ...attributes, ...Extensions }).map(([k, v]) => [k, v.trim()]),
  );
  if (event.Mode === "structured") {
    const body: Record<string, unknown> = { ...all };
    if (event.Data !== undefined) body.data = JSON.parse(event.Data);
    return {
      headers: {
        "content-type": "application/cloudevents+json; charset=UTF-8",
        ...event.TransportExtensions,
      },
      body: JSON.stringify(body),
    };
  }
  const headers: Record<string, string> = { ...event.TransportExtensions };
  for (const [name, value] of Object.entries(all)) {
    if (value === "") continue;
    if (name === "datacontenttype") headers["content-type"] = value;
    else headers[`ce-${name}`] = encodeURIComponent(value).replace(/%20/g, " ");
  }
  return { headers, body: event.Data ?? "" };
}

function storedData(stored: Record<string, unknown>): unknown {
  if (typeof stored.data_base64 === "string")
    return Buffer.from(stored.data_base64, "base64").toString("utf8");
  return stored.data;
}

describe("HTTP conformance events through POST /events", () => {
  for (const file of ["v1.yaml", "v1.0/v1_minimum.yaml"]) {
    load(file).forEach((event, index) => {
      const mode = event.Mode ?? "binary";
      it(`${file} #${index} (${mode}, ${event.ContextAttributes.datacontenttype ?? "no datacontenttype"})`, async () => {
        await withServer({}, async ({ url }) => {
          const request = toRequest(event);
          const answer = await post(`${url}/events`, request.body, request.headers);
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
          const page = await get<Page>(`${url}/events`);
          const stored = page.body.events[0]!.event;
          const { Extensions = {}, ...attributes } = event.ContextAttributes;
          for (const [name, value] of Object.entries({ ...attributes, ...Extensions })) {
            const expected =
              name === "time" ? new Date(value).toISOString().replace(".000", "") : value.trim();
            const actual =
              name === "time"
                ? new Date(String(stored.time)).toISOString().replace(".000", "")
                : String(stored[name]).trim();
            assert.equal(actual, expected, name);
          }
          const type = attributes.datacontenttype ?? "";
          if (event.Data !== undefined) {
            if (mode === "structured" || type.startsWith("application/json"))
              assert.deepEqual(stored.data, JSON.parse(event.Data));
            else assert.equal(storedData(stored), event.Data);
          }
        });
      });
    });
  }
});
