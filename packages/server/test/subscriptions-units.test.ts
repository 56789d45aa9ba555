// Pure pieces of the delivery engine: the sink policy. (Backoff, Retry-After and webhook signing are
// @herald/protocol's, tested there.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SinkPolicy, SinkRefusedError } from "../src/subscriptions/sink-policy.js";

describe("sink policy", () => {
  const refused = (policy: SinkPolicy, url: string) =>
    assert.throws(() => policy.checkUrl(url), SinkRefusedError, url);
  it("refuses link-local and cloud metadata endpoints by default", () => {
    const policy = new SinkPolicy();
    refused(policy, "http://169.254.169.254/latest/meta-data/");
    refused(policy, "http://169.254.10.1/hook");
    refused(policy, "http://[fe80::1]/hook");
    refused(policy, "http://[fd00:ec2::254]/");
    refused(policy, "http://[::ffff:169.254.169.254]/");
    refused(policy, "http://metadata.google.internal/computeMetadata/v1/");
    refused(policy, "http://METADATA.GOOGLE.INTERNAL./");
    refused(policy, "ftp://example.com/");
  });
  it("allows loopback and public hosts by default", () => {
    const policy = new SinkPolicy();
    assert.equal(policy.checkUrl("http://127.0.0.1:9/hook").hostname, "127.0.0.1");
    assert.equal(policy.checkUrl("https://hooks.example.com/x").hostname, "hooks.example.com");
  });
  it("refuses private networks when told to", () => {
    const policy = new SinkPolicy({ allowPrivateNetworks: false });
    refused(policy, "http://127.0.0.1/hook");
    refused(policy, "http://10.1.2.3/hook");
    refused(policy, "http://[::1]/hook");
    assert.ok(policy.checkUrl("http://93.184.216.34/"));
  });
  it("restricts sinks to the allow-list (names, wildcards, ranges)", () => {
    const policy = new SinkPolicy({ allowList: ["hooks.example.com", "*.corp.example", "127.0.0.0/8"] });
    assert.ok(policy.checkUrl("https://hooks.example.com/a"));
    assert.ok(policy.checkUrl("https://a.b.corp.example/a"));
    assert.ok(policy.checkUrl("http://127.0.0.1:8080/a"));
    refused(policy, "http://10.0.0.1/a");
    refused(new SinkPolicy({ allowList: ["hooks.example.com"] }), "https://evil.example.com/");
    // The allow-list never re-opens metadata endpoints.
    refused(new SinkPolicy({ allowList: ["169.254.0.0/16"] }), "http://169.254.169.254/");
  });
  it("checks resolved addresses before connecting", async () => {
    const policy = new SinkPolicy({ allowPrivateNetworks: false });
    const error = await new Promise<unknown>((resolve) =>
      policy.lookup("localhost", { all: true }, (err) => resolve(err)),
    );
    assert.ok(error instanceof SinkRefusedError);
    const ok = await new Promise<unknown>((resolve) =>
      new SinkPolicy().lookup("localhost", { all: false }, (err, address) => resolve(err ?? address)),
    );
    assert.match(String(ok), /^(127\.0\.0\.1|::1)$/);
  });
});
