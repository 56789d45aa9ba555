// The setting rows are the one description of the configuration: the README table, env/file/flag naming and
// defaults must all follow from them.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  CONFIG_FILE_ENV,
  ConfigError,
  DEFAULT_CONFIG,
  ENV_VARS,
  nestSettings,
  parseSettingText,
  resolveConfig,
  SETTINGS,
  type Setting,
  settingOf,
  withSettingsTable,
} from "@herald/server";

const rows: ReadonlyArray<Setting> = SETTINGS;

function issuesOf(fn: () => unknown): ReadonlyArray<{ setting: string; reason: string }> {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError");
}

function valueAt(config: object, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

describe("settings rows", () => {
  it("the README's configuration table is generated from the rows", () => {
    const path = new URL("../../README.md", import.meta.url);
    const readme = readFileSync(path, "utf8");
    assert.ok(
      withSettingsTable(readme) === readme,
      "packages/server/README.md's settings table differs from packages/server/src/settings.ts: run `npm run docs:settings`",
    );
  });

  it("names are unique and follow the conventions", () => {
    const unique = (values: string[], what: string) =>
      assert.equal(new Set(values).size, values.length, `duplicate ${what}: ${values.join(", ")}`);
    unique(
      rows.map((r) => r.key),
      "keys",
    );
    unique([...rows.map((r) => r.env), CONFIG_FILE_ENV], "env vars");
    unique(rows.flatMap((r) => (r.flag ? [r.flag.split(" ")[0] as string] : [])).concat("--config"), "flags");
    const keys = new Set(rows.map((r) => r.key));
    for (const row of rows) {
      assert.match(row.env, /^HERALD_[A-Z0-9_]+$/, row.key);
      if (row.flag) assert.match(row.flag, /^--[a-z][a-z0-9-]* <[a-z]+>$/, row.key);
      assert.match(row.key, /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/, row.key);
      // A key is a setting or a group of settings, never both.
      for (const other of keys) assert.ok(!other.startsWith(`${row.key}.`), `${row.key} is also a group`);
      assert.ok(row.doc.length > 0 && !row.doc.includes("\n"), `${row.key}: doc is one line`);
      assert.equal(ENV_VARS[row.key as keyof typeof ENV_VARS], row.env);
      assert.equal(settingOf(row.key), row);
    }
  });

  it("every default is valid for its own type and is what DEFAULT_CONFIG and resolveConfig() give", () => {
    const resolved = resolveConfig();
    for (const row of rows) {
      assert.deepEqual(row.type.check(row.default, row.key, []), row.default, row.key);
      assert.deepEqual(valueAt(DEFAULT_CONFIG, row.key), row.default, row.key);
      assert.deepEqual(valueAt(resolved, row.key), row.default, row.key);
      // Scalar defaults read back from their --help text (what a user would copy into a flag or env var).
      if (!Array.isArray(row.default)) {
        assert.deepEqual(parseSettingText(row, row.type.show(row.default)), { ok: true, value: row.default });
      }
    }
  });

  it("resolveConfig() gives fresh arrays: a resolved config never aliases the defaults", () => {
    const config = resolveConfig();
    config.apiKeys.push({ key: "k".repeat(8), scopes: ["admin"] });
    config.sinks.allowList.push("x.example.com");
    assert.deepEqual(resolveConfig().apiKeys, []);
    assert.deepEqual(DEFAULT_CONFIG.sinks.allowList, []);
    assert.ok(Object.isFrozen(DEFAULT_CONFIG.limits));
  });

  it("every setting is read from its env var, its file key and flags (flags > env > file)", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-settings-"));
    const file = join(dir, "herald.json");
    for (const row of rows) {
      if (typeof row.default !== "number" && typeof row.default !== "boolean") continue;
      // Three distinct valid values: the default and two others of the same type.
      const [a, b, c] =
        typeof row.default === "boolean"
          ? [!row.default, row.default, !row.default]
          : [row.default + 1, row.default + 2, row.default + 3];
      writeFileSync(file, JSON.stringify(nestSettings([[row.key, a]])));
      assert.equal(valueAt(resolveConfig({ file }), row.key), a, `${row.key} from the file`);
      const env = { [row.env]: String(b) };
      assert.equal(valueAt(resolveConfig({ file, env }), row.key), b, `${row.env} beats the file`);
      const flags = nestSettings([[row.key, c]]);
      assert.equal(valueAt(resolveConfig({ file, env, flags }), row.key), c, `--${row.key} beats the env`);
    }
  });

  it("bad values are named by env var, file key or flag path, for every setting", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-settings-"));
    const file = join(dir, "bad.json");
    for (const row of rows) {
      // An object is wrong for every setting type.
      writeFileSync(file, JSON.stringify(nestSettings([[row.key, { nope: 1 }]])));
      const issues = issuesOf(() =>
        resolveConfig({ file, flags: nestSettings([[row.key, { nope: 1 }]]), env: { [row.env]: "{" } }),
      );
      const named = issues.map((i) => i.setting);
      assert.ok(
        named.some((s) => s.startsWith(`${file}:${row.key}`)),
        named.join(),
      );
      assert.ok(
        named.some((s) => s.startsWith(`--${row.key}`)),
        named.join(),
      );
      // Text that the type refuses (a string or list setting takes "{" as it is) is named by the env var.
      if (!parseSettingText(row, "{").ok)
        assert.ok(
          named.some((s) => s.startsWith(row.env)),
          named.join(),
        );
    }
  });

  it("unknown keys and non-object groups in a file are errors named by their path", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-settings-"));
    const file = join(dir, "herald.json");
    writeFileSync(file, JSON.stringify({ limits: { maxBodyBytes: 10, nope: 1 }, sinks: 3 }));
    const issues = issuesOf(() => resolveConfig({ file }));
    assert.deepEqual(
      issues.map((i) => [i.setting, i.reason]),
      [
        [`${file}:limits.nope`, "is not a known setting"],
        [`${file}:sinks`, "must be an object"],
      ],
    );
  });
});
