// The console hosted at /console: the built page and its assets with a strict Content-Security-Policy,
// no CORS headers, `/` linking it, `/console/session` telling what a key may do, and the setting that
// turns it off. (The page itself is tested in a browser: packages/console/test.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assetsBuilt } from "@herald/console";
import { withServer } from "./server-harness.js";

const KEYS = [
  { key: "admin-key-0001", scopes: ["admin" as const] },
  { key: "reader-key-0001", scopes: ["consume" as const] },
];

describe("console hosting", () => {
  // `npm run build` builds the page; a checkout where only `tsc -b` ran has none (then /console is off).
  const skip =
    !assetsBuilt() && process.env.CI !== "true" ? "console assets not built (npm run build)" : false;

  it("serves the page and its assets with a strict CSP, no CORS headers, and links it from /", {
    skip,
  }, async () => {
    await withServer({ apiKeys: KEYS }, async (server) => {
      const page = await fetch(`${server.url}/console`, { headers: { origin: "https://evil.example" } });
      assert.equal(page.status, 200, "the page is public: it holds no data");
      const html = await page.text();
      const csp = page.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      assert.equal(page.headers.get("access-control-allow-origin"), null, "no CORS opening");
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
      const scripts = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      assert.ok(scripts.length >= 2, `script and style in ${html}`);
      for (const path of scripts) {
        const asset = await fetch(`${server.url}${path}`);
        assert.equal(asset.status, 200, path);
        assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
        assert.match(asset.headers.get("content-security-policy") ?? "", /default-src 'self'/);
        assert.ok((await asset.text()).length > 0);
      }
      const missing = await fetch(`${server.url}/console/assets/nope.js`);
      assert.equal(missing.status, 404);
      const index = (await (await fetch(`${server.url}/`)).json()) as { links: { console?: string } };
      assert.equal(index.links.console, "/console");
      const data = await fetch(`${server.url}/events`);
      assert.equal(data.status, 401, "the API behind the page still wants a key");
    });
  });

  it("/console/session: what the sent key may do, without refusing", { skip }, async () => {
    await withServer({ apiKeys: KEYS }, async (server) => {
      const session = async (key?: string) => {
        const res = await fetch(`${server.url}/console/session`, {
          headers: key ? { authorization: `Bearer ${key}` } : {},
        });
        assert.equal(res.status, 200);
        return await res.json();
      };
      assert.deepEqual(await session(), { auth: true, key: "none", scopes: [] });
      assert.deepEqual(await session("wrong-key-0001"), { auth: true, key: "invalid", scopes: [] });
      assert.deepEqual(await session("reader-key-0001"), { auth: true, key: "valid", scopes: ["consume"] });
      assert.deepEqual(await session("admin-key-0001"), {
        auth: true,
        key: "valid",
        scopes: ["publish", "consume", "admin"],
      });
    });
    await withServer({}, async (server) => {
      const res = await fetch(`${server.url}/console/session`);
      assert.deepEqual(await res.json(), {
        auth: false,
        key: "none",
        scopes: ["publish", "consume", "admin"],
      });
    });
  });

  it("console.enabled false: no /console, no link", async () => {
    await withServer({ console: { enabled: false } }, async (server) => {
      assert.equal((await fetch(`${server.url}/console`)).status, 404);
      assert.equal((await fetch(`${server.url}/console/session`)).status, 404);
      const index = (await (await fetch(`${server.url}/`)).json()) as { links: { console?: string } };
      assert.equal(index.links.console, undefined);
      assert.equal(
        server.routes.some((route) => route.path.startsWith("/console")),
        false,
      );
    });
  });
});
