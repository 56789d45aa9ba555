import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from "@herald/server";

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "herald-config-"));
  const path = join(dir, "herald.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function issuesOf(fn: () => unknown): ReadonlyArray<{ setting: string; reason: string }> {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError");
}

describe("resolveConfig", () => {
  it("gives the documented defaults", () => {
    const config = resolveConfig();
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, "./data");
    assert.equal(config.storage, "sqlite");
    assert.equal(config.durability, "full");
    assert.deepEqual(config.apiKeys, []);
    assert.deepEqual(config.limits, DEFAULT_CONFIG.limits);
  });

  it("applies flags > env > file > defaults, setting by setting", () => {
    const file = configFile({
      host: "0.0.0.0",
      port: 7000,
      dataDir: "/from/file",
      durability: "normal",
      limits: { maxBodyBytes: 1000, maxBatchLength: 10 },
      sinks: { allowList: ["hooks.example.com"] },
    });
    const env = { HERALD_PORT: "7001", HERALD_DATA_DIR: "/from/env", HERALD_MAX_BATCH_LENGTH: "20" };
    const config = resolveConfig({ file, env, flags: { dataDir: "/from/flags" } });
    assert.equal(config.host, "0.0.0.0", "file beats default");
    assert.equal(config.port, 7001, "env beats file");
    assert.equal(config.dataDir, "/from/flags", "flag beats env");
    assert.equal(config.durability, "normal");
    assert.equal(config.limits.maxBodyBytes, 1000, "file limit kept");
    assert.equal(config.limits.maxBatchLength, 20, "env limit beats file limit");
    assert.equal(config.limits.maxAttributeBytes, DEFAULT_CONFIG.limits.maxAttributeBytes);
    assert.deepEqual(config.sinks, { allowList: ["hooks.example.com"], allowPrivateNetworks: true });
  });

  it("reads the file named by HERALD_CONFIG when no file is given", () => {
    const file = configFile({ port: 9123 });
    assert.equal(resolveConfig({ env: { HERALD_CONFIG: file } }).port, 9123);
  });

  it("does not read process.env unless asked", () => {
    process.env.HERALD_PORT = "1234";
    try {
      assert.equal(resolveConfig().port, 8080);
      assert.equal(resolveConfig({ env: process.env }).port, 1234);
    } finally {
      delete process.env.HERALD_PORT;
    }
  });

  it("parses every env var", () => {
    const config = resolveConfig({
      env: {
        HERALD_HOST: "::1",
        HERALD_PORT: "0",
        HERALD_DATA_DIR: "/d",
        HERALD_STORAGE: "postgres",
        HERALD_DATABASE_URL: "postgres://herald:s3cret@db.example.com:5433/events",
        HERALD_DATABASE_SCHEMA: "herald_a",
        HERALD_DATABASE_POOL_SIZE: "8",
        HERALD_DATABASE_OLD_TRANSACTION_AFTER: "1m",
        HERALD_NODE_ID: "node-a.1",
        HERALD_CLUSTER_PARTITIONS: "16",
        HERALD_CLUSTER_LEASE: "2s",
        HERALD_DURABILITY: "normal",
        HERALD_COMMIT_SYNC: "inline",
        HERALD_CHECKPOINT: "inline",
        HERALD_DEDUPE_WINDOW: "1000",
        HERALD_LOG_LEVEL: "warn",
        HERALD_SHUTDOWN_DRAIN_MS: "250",
        HERALD_MAX_BODY_BYTES: "2048",
        HERALD_MAX_BATCH_LENGTH: "5",
        HERALD_MAX_ATTRIBUTE_BYTES: "64",
        HERALD_MAX_EXTENSION_NAME_LENGTH: "20",
        HERALD_MAX_JSON_DEPTH: "16",
        HERALD_MAX_READ_LIMIT: "50",
        HERALD_MAX_READ_SCAN: "500",
        HERALD_REQUEST_TIMEOUT_MS: "1500",
        HERALD_CORS_ALLOW_ORIGINS: "https://App.example.com, http://localhost:5173",
        HERALD_SINK_ALLOW_LIST: "a.example.com, *.b.example.com",
        HERALD_SINK_ALLOW_PRIVATE_NETWORKS: "false",
        HERALD_CONSOLE: "false",
        HERALD_STALE_CHECKPOINTS: "rewind",
        HERALD_API_KEYS: "publisher-key-1:publish:com.acme.,org.x.;admin-key-0001:admin,consume",
        HERALD_LOG_FORMAT: "json",
        HERALD_RETENTION_MAX_AGE: "7d",
        HERALD_RETENTION_MAX_COUNT: "1000",
        HERALD_RETENTION_INTERVAL: "30s",
        HERALD_RETENTION_HARD_DELETE: "false",
        HERALD_SUBSCRIPTIONS_STALLED_AFTER: "2m",
        HERALD_SUBSCRIPTIONS_DELIVERY_LEDGER: "50",
        HERALD_RETENTION_RULES:
          '[{"streamPrefix":"audit-","maxAge":"90d"},{"type":"com.acme.tick","maxCount":10,"dropUnacked":true}]',
        HERALD_ENFORCE_SCHEMAS: "true",
        HERALD_SCHEMA_COMPATIBILITY: "FULL_TRANSITIVE",
        HERALD_INBOUND: '[{"url":"redis://127.0.0.1:6379/orders","ackTimeout":"5s"}]',
      },
    });
    assert.deepEqual(config, {
      host: "::1",
      port: 0,
      dataDir: "/d",
      storage: "postgres",
      database: {
        url: "postgres://herald:s3cret@db.example.com:5433/events",
        schema: "herald_a",
        poolSize: 8,
        oldTransactionAfter: 60_000,
      },
      nodeId: "node-a.1",
      cluster: { partitions: 16, leaseMs: 2000 },
      durability: "normal",
      commitSync: "inline",
      checkpoint: "inline",
      dedupeWindow: 1000,
      logLevel: "warn",
      shutdownDrainMs: 250,
      limits: {
        maxBodyBytes: 2048,
        maxBatchLength: 5,
        maxAttributeBytes: 64,
        maxExtensionNameLength: 20,
        maxJsonDepth: 16,
        maxReadLimit: 50,
        maxReadScan: 500,
        requestTimeoutMs: 1500,
      },
      sinks: { allowList: ["a.example.com", "*.b.example.com"], allowPrivateNetworks: false },
      staleCheckpoints: "rewind",
      inbound: [
        {
          url: "redis://127.0.0.1:6379/orders",
          name: "redis://127.0.0.1:6379/orders",
          group: "herald",
          maxInFlight: 16,
          maxDeliveries: 5,
          ackTimeoutMs: 5_000,
        },
      ],
      cors: { allowOrigins: ["https://app.example.com", "http://localhost:5173"] },
      console: { enabled: false },
      apiKeys: [
        { key: "publisher-key-1", scopes: ["publish"], typePrefixes: ["com.acme.", "org.x."] },
        { key: "admin-key-0001", scopes: ["admin", "consume"] },
      ],
      logFormat: "json",
      retention: {
        maxAge: 7 * 86_400_000,
        maxCount: 1000,
        hardDelete: false,
        interval: 30_000,
        rules: [
          { streamPrefix: "audit-", maxAgeMs: 90 * 86_400_000 },
          { type: "com.acme.tick", maxCount: 10, dropUnacked: true },
        ],
      },
      schemas: { enforce: true, compatibility: "FULL_TRANSITIVE" },
      subscriptions: { stalledAfter: 120_000, deliveryLedger: 50 },
    });
  });

  it("storage postgres needs a database URL; bad URLs, schemas and node ids are named", () => {
    const issues = (input: Parameters<typeof resolveConfig>[0]) => {
      try {
        resolveConfig(input);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.issues.map((i) => i.setting);
      }
      return assert.fail("accepted");
    };
    assert.deepEqual(issues({ env: { HERALD_STORAGE: "postgres" } }), ["database.url"]);
    assert.deepEqual(
      issues({
        env: {
          HERALD_DATABASE_URL: "mysql://x",
          HERALD_DATABASE_SCHEMA: "Bad-Schema",
          HERALD_NODE_ID: "a b",
        },
      }).sort(),
      ["HERALD_DATABASE_SCHEMA", "HERALD_DATABASE_URL", "HERALD_NODE_ID"],
    );
    assert.deepEqual(issues({ flags: { cluster: { leaseMs: 100 } } }), ["--cluster.leaseMs"]);
    const fromFile = join(mkdtempSync(join(tmpdir(), "herald-config-")), "herald.json");
    writeFileSync(
      fromFile,
      JSON.stringify({ storage: "postgres", database: { url: "postgresql://h@db/x" } }),
    );
    const config = resolveConfig({ file: fromFile });
    assert.equal(config.storage, "postgres");
    assert.equal(config.database.url, "postgresql://h@db/x");
    assert.equal(config.database.schema, "herald");
  });

  it("reads retention durations with units and names each bad rule field", () => {
    const config = resolveConfig({
      flags: { retention: { maxAge: 3_600_000, rules: [{ streamPrefix: "a", maxAgeMs: 500 }] } },
      env: { HERALD_RETENTION_INTERVAL: "2m" },
    });
    assert.equal(config.retention.maxAge, 3_600_000);
    assert.equal(config.retention.interval, 120_000);
    assert.deepEqual(config.retention.rules, [{ streamPrefix: "a", maxAgeMs: 500 }]);
    const bad = (() => {
      try {
        resolveConfig({
          env: {
            HERALD_RETENTION_MAX_AGE: "seven days",
            HERALD_RETENTION_INTERVAL: "10ms",
            HERALD_RETENTION_RULES: '[{"streamPrefix":""},{"maxAge":"soon","colour":1}]',
          },
        });
      } catch (error) {
        return error as ConfigError;
      }
      return assert.fail("bad retention settings were accepted");
    })();
    const named = bad.issues.map((i) => i.setting);
    assert.ok(named.includes("HERALD_RETENTION_MAX_AGE"), bad.message);
    assert.ok(named.includes("HERALD_RETENTION_INTERVAL"), bad.message);
    for (const field of ["[0].streamPrefix", "[0]", "[1].maxAge", "[1].colour"])
      assert.ok(
        named.includes(`HERALD_RETENTION_RULES (retention.rules${field})`),
        `${field}: ${bad.message}`,
      );
  });

  it("refuses a CORS origin that is not scheme://host[:port]", () => {
    assert.throws(
      () => resolveConfig({ env: { HERALD_CORS_ALLOW_ORIGINS: "https://ok.example.com,example.com/path" } }),
      (error: Error) =>
        error.message.includes("HERALD_CORS_ALLOW_ORIGINS") && error.message.includes("example.com/path"),
    );
  });

  it("accepts HERALD_API_KEYS as JSON", () => {
    const keys = [{ key: "consumer-key-1", scopes: ["consume"] }];
    assert.deepEqual(resolveConfig({ env: { HERALD_API_KEYS: JSON.stringify(keys) } }).apiKeys, keys);
  });

  it("reports every bad setting by its source name in one ConfigError", () => {
    const file = configFile({ port: "eighty", storage: "tape", colour: "blue", limits: { maxBodyBytes: 0 } });
    const issues = issuesOf(() =>
      resolveConfig({
        file,
        env: { HERALD_MAX_BATCH_LENGTH: "lots", HERALD_DURABILITY: "sometimes" },
        flags: { port: 70000 },
      }),
    );
    const settings = issues.map((i) => i.setting);
    assert.ok(settings.includes(`${file}:port`), settings.join());
    assert.ok(settings.includes(`${file}:storage`));
    assert.ok(settings.includes(`${file}:colour`));
    assert.ok(settings.includes(`${file}:limits.maxBodyBytes`));
    assert.ok(settings.includes("HERALD_MAX_BATCH_LENGTH"));
    assert.ok(settings.includes("HERALD_DURABILITY"));
    assert.ok(settings.includes("--port"));
    assert.match(issues.find((i) => i.setting === "--port")!.reason, /between 0 and 65535/);
  });

  it("rejects a missing or malformed config file clearly", () => {
    const missing = issuesOf(() => resolveConfig({ file: "/nonexistent/herald.json" }));
    assert.match(missing[0]!.setting, /nonexistent/);
    assert.match(missing[0]!.reason, /cannot be read/);
    const broken = issuesOf(() => resolveConfig({ file: configFile("{ port: 1") }));
    assert.match(broken[0]!.reason, /not valid JSON/);
    const array = issuesOf(() => resolveConfig({ file: configFile([1, 2]) }));
    assert.match(array[0]!.reason, /JSON object/);
  });

  it("validates API keys: length, scopes, prefixes, duplicates", () => {
    const issues = issuesOf(() =>
      resolveConfig({
        flags: {
          apiKeys: [
            { key: "short", scopes: ["publish"] },
            { key: "long-enough-key", scopes: ["write" as "publish"] },
            { key: "another-good-key", scopes: ["publish"], typePrefixes: [] },
            { key: "dup-key-12345", scopes: ["consume"] },
            { key: "dup-key-12345", scopes: ["consume"] },
          ],
        },
      }),
    );
    assert.deepEqual(
      issues.map((i) => i.setting),
      ["--apiKeys[0].key", "--apiKeys[1].scopes", "--apiKeys[2].typePrefixes", "--apiKeys[4].key"],
    );
    const env = issuesOf(() => resolveConfig({ env: { HERALD_API_KEYS: "just-a-key-without-scopes" } }));
    assert.equal(env[0]!.setting, "HERALD_API_KEYS");
    assert.doesNotMatch(env[0]!.reason, /just-a-key-without-scopes/, "secrets are not echoed");
  });
});
