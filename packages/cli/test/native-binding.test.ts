// `herald serve` when better-sqlite3's native module cannot load: one message with the fixes, exit 1.
// The load error is real: better-sqlite3 is pointed at a file that is not a loadable module.
import type { HeraldServer, startServer } from "@herald/server";
import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { type ServeFlags, serve } from "../src/commands/serve.js";
import { CliError, ExitCode } from "../src/errors.js";
import { nativeBindingProblem } from "../src/native-binding.js";
import type { Output } from "../src/output.js";
import { closedPort } from "./support/fake-server.js";
import { tempDir } from "./support/herald-server.js";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A directory laid out like a package whose compiled module is broken (wrong format). */
async function brokenBinding(): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  const release = join(dir, "better-sqlite3", "build", "Release");
  await mkdir(release, { recursive: true });
  const file = join(release, "better_sqlite3.node");
  await writeFile(file, "not a shared object\n");
  return file;
}

/** The error better-sqlite3 throws when its binding does not load. */
async function loadError(): Promise<Error> {
  const binding = await brokenBinding();
  try {
    new Database(":memory:", { nativeBinding: binding });
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("a file that is not a shared object loaded as a native module");
}

const silent: Output = { data() {}, message() {} };

async function serveWith(start: (config: Parameters<typeof startServer>[0]) => Promise<HeraldServer>) {
  const dir = await tempDir();
  dirs.push(dir);
  const flags: ServeFlags = { port: await closedPort(), data: dir, storage: "sqlite", logLevel: "silent" };
  return serve(flags, silent, start).then(
    () => assert.fail("serve returned although the server could not start"),
    (error: unknown) => error,
  );
}

describe("missing or broken better-sqlite3 native module", () => {
  test("serve reports what happened and every way out, with exit code 1", async () => {
    const loaderError = await loadError();
    const error = await serveWith(async () => {
      throw loaderError;
    });
    assert.ok(error instanceof CliError, String(error));
    assert.equal(error.exitCode, ExitCode.failure);
    const lines = error.message.split("\n");
    assert.match(
      lines[0] ?? "",
      /^cannot start the server: the SQLite storage could not load better-sqlite3/,
    );
    assert.match(error.message, /npm rebuild better-sqlite3/);
    assert.match(error.message, /python3, make and g\+\+/);
    assert.match(error.message, /--storage memory/);
    // Only the loader's first line is kept.
    assert.equal(lines.length, 4);
  });

  test("the error is recognised through a cause chain", async () => {
    const wrapped = new Error("cannot open the log", { cause: await loadError() });
    assert.match(nativeBindingProblem(wrapped) ?? "", /npm rebuild better-sqlite3/);
  });

  test("the error of a binding that is not found at all (the `bindings` loader's message)", () => {
    // What `bindings` throws, shortened: first line, then one line per path it tried.
    const notFound = new Error(
      "Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node\n → /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node",
    );
    const message = nativeBindingProblem(notFound) ?? "";
    assert.match(message, /\(Could not locate the bindings file\)/);
    assert.doesNotMatch(message, /build\/Release/);
  });

  test("other start errors keep their own message", async () => {
    const other = Object.assign(new Error("boom: /data/better_sqlite3.db is locked"), { code: "EBUSY" });
    assert.equal(nativeBindingProblem(other), undefined);
    const foreignModule = Object.assign(new Error("/x/other.node: invalid ELF header"), {
      code: "ERR_DLOPEN_FAILED",
    });
    assert.equal(nativeBindingProblem(foreignModule), undefined);
    const error = await serveWith(async () => {
      throw other;
    });
    assert.ok(error instanceof CliError);
    assert.equal(error.message, "cannot start the server: boom: /data/better_sqlite3.db is locked");
  });
});
