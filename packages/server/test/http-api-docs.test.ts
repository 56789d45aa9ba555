// docs/http-api.md is checked against the server: every route of the route table has a row in the doc's
// route table with the access the route declares, and every route the doc lists exists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { RouteInfo } from "@herald/server";
import { withServer } from "./server-harness.js";

const docsPath = new URL("../../../../docs/http-api.md", import.meta.url);
const ROUTE = /^(GET|POST|PUT|DELETE|PATCH|WebSocket) (\/[^?\s]*)/;

interface DocRow {
  readonly routes: string[];
  readonly scope: string;
  readonly options: boolean;
}

/** The rows of the table under `## Routes`: each first cell's `METHOD /path` spans and the scope cell. */
function docRows(): DocRow[] {
  const text = readFileSync(docsPath, "utf8");
  const start = text.indexOf("\n## Routes\n");
  assert.ok(start >= 0, "docs/http-api.md has a ## Routes section");
  const end = text.indexOf("\n## ", start + 1);
  const rows: DocRow[] = [];
  for (const line of text.slice(start, end === -1 ? undefined : end).split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[1] === "method and path" || /^-+$/.test(cells[1] ?? "")) continue;
    const spans = [...(cells[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const routes: string[] = [];
    for (const span of spans) {
      const match = ROUTE.exec(span);
      if (match) routes.push(key(match[1]!, match[2]!.replace(/\{([^}]+)\}/g, ":$1")));
    }
    rows.push({ routes, scope: cells[2]!, options: spans.some((s) => s.startsWith("OPTIONS")) });
  }
  return rows;
}

const key = (method: string, path: string) => `${method} ${path}`;

describe("docs/http-api.md and the route table", () => {
  it("lists every route with its access, and only routes that exist", async () => {
    const routes: readonly RouteInfo[] = await withServer({}, async (server) => server.routes);
    const rows = docRows();
    const documented = new Map<string, string>();
    for (const row of rows) for (const route of row.routes) documented.set(route, row.scope);
    assert.ok(documented.size >= 10, `parsed only ${documented.size} routes`);
    const actual = new Map(routes.map((r) => [key(r.method, r.path), r.access]));
    assert.deepEqual(
      [...actual.keys()].filter((r) => !documented.has(r)),
      [],
      "routes missing from docs/http-api.md",
    );
    assert.deepEqual(
      [...documented.keys()].filter((r) => !actual.has(r)),
      [],
      "documented routes the server does not have",
    );
    for (const [route, access] of actual)
      assert.equal(documented.get(route), access, `scope of ${route} in docs/http-api.md`);
    // The router answers OPTIONS itself, before any key check.
    const options = rows.filter((r) => r.options);
    assert.equal(options.length, 1, "one OPTIONS row");
    assert.equal(options[0]!.scope, "public");
  });
});
