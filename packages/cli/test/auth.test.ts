// API keys: --api-key / HERALD_API_KEY reach a server started with HERALD_API_KEYS.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "./support/cli.js";
import { type HeraldProcess, startHerald } from "./support/herald-server.js";

describe("API keys (real server)", () => {
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHerald([], { HERALD_API_KEYS: "publisher-key-1:publish;reader-key-1:consume" });
  });
  after(async () => {
    await herald.stop();
  });
  const publish = ["publish", "--type", "t", "--source", "/auth"];

  test("without a key the server refuses: exit 1 with its problem", async () => {
    const result = await runCli(publish, { env: { HERALD_URL: herald.url } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the server rejected the request: 401 /);
  });

  test("HERALD_API_KEY is sent as a Bearer token", async () => {
    const result = await runCli(publish, {
      env: { HERALD_URL: herald.url, HERALD_API_KEY: "publisher-key-1" },
    });
    assert.equal(result.code, 0, result.stderr);
  });

  test("--api-key beats HERALD_API_KEY; scopes still apply", async () => {
    const tail = ["tail", "--from", "beginning", "--no-follow", "--json"];
    const env = { HERALD_URL: herald.url, HERALD_API_KEY: "publisher-key-1" };
    const refused = await runCli(tail, { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /403 /);
    const allowed = await runCli([...tail, "--api-key", "reader-key-1"], { env });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /"source":"\/auth"/);
  });
});
