// Storage failures over real HTTP: a full disk answers 507, a busy or failing store 503, both with
// Retry-After, and never a 2xx for an event that was not stored. The errors are real SQLite errors
// (better-sqlite3, the default backend's driver), raised by a log wrapper passed to startServer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createMemoryLog, type EventLog } from "@herald/log";
import Database from "better-sqlite3";
import { storageFailureOf } from "../src/http/storage-errors.js";
import { createLogger } from "../src/observability/logger.js";
import { type Problem, post, structured, tempDir, withServer } from "./server-harness.js";

/** A genuine SQLITE_FULL: an in-memory database capped at two pages, written past the cap. */
function sqliteFull(): Error {
  const db = new Database(":memory:");
  try {
    db.pragma("max_page_count = 2");
    db.exec("CREATE TABLE t (x BLOB)");
    db.prepare("INSERT INTO t VALUES (?)").run(Buffer.alloc(100_000));
  } catch (error) {
    return error as Error;
  } finally {
    db.close();
  }
  throw new Error("the capped database did not fill up");
}

/** A genuine SQLITE_BUSY: a second connection writes while the first holds an exclusive lock. */
function sqliteBusy(dir: string): Error {
  const file = join(dir, "busy.db");
  const holder = new Database(file);
  const other = new Database(file, { timeout: 0 });
  try {
    holder.exec("CREATE TABLE t (x)");
    holder.exec("BEGIN EXCLUSIVE");
    other.exec("INSERT INTO t VALUES (1)");
  } catch (error) {
    return error as Error;
  } finally {
    if (holder.inTransaction) holder.exec("ROLLBACK");
    holder.close();
    other.close();
  }
  throw new Error("the second connection was not refused");
}

/** A memory log whose appends fail with `failure()` while it is set. */
function failingLog(): { log: EventLog; inner: EventLog; fail(error: Error | undefined): void } {
  const inner = createMemoryLog();
  let failure: Error | undefined;
  const log = new Proxy(inner, {
    get(target, name, receiver) {
      if (name === "append") {
        return (...args: Parameters<EventLog["append"]>) =>
          failure !== undefined ? Promise.reject(failure) : target.append(...args);
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { log, inner, fail: (error) => (failure = error) };
}

describe("storage errors", () => {
  const dir = tempDir("herald-storage-errors-");
  let full: Error;
  let busy: Error;
  before(() => {
    full = sqliteFull();
    busy = sqliteBusy(dir.path);
  });
  after(() => dir.remove());

  it("the SQLite errors are the real ones", () => {
    assert.equal((full as { code?: string }).code, "SQLITE_FULL");
    assert.equal((busy as { code?: string }).code, "SQLITE_BUSY");
    assert.equal(storageFailureOf(full), "full");
    assert.equal(storageFailureOf(busy), "unavailable");
    // Extended codes, errors wrapped as a cause, and codes that are no storage failure.
    const coded = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(storageFailureOf(coded("SQLITE_IOERR_WRITE")), "unavailable");
    assert.equal(storageFailureOf(coded("SQLITE_LOCKED_SHAREDCACHE")), "unavailable");
    assert.equal(storageFailureOf(new Error("append failed", { cause: coded("ENOSPC") })), "full");
    assert.equal(storageFailureOf(coded("53100")), "full");
    assert.equal(storageFailureOf(coded("SQLITE_CONSTRAINT")), undefined);
    assert.equal(storageFailureOf(coded("SQLITE_FULLISH")), undefined);
    assert.equal(storageFailureOf(new Error("plain")), undefined);
  });

  it("507 storage-full / 503 storage-unavailable with Retry-After on every append path; nothing acknowledged", async () => {
    const { log, inner, fail } = failingLog();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(
          ...String(chunk)
            .split("\n")
            .filter((l) => l.length > 0),
        );
        done();
      },
    });
    await withServer({ log, logger: createLogger("info", sink) }, async (server) => {
      const io = Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_WRITE" });
      const cases: Array<[Error, number, string, string]> = [
        [full, 507, "storage-full", "30"],
        [busy, 503, "storage-unavailable", "1"],
        [io, 503, "storage-unavailable", "1"],
      ];
      for (const [error, status, code, retryAfter] of cases) {
        fail(error);
        for (const path of ["/events", "/streams/orders"]) {
          const answer = await post<Problem>(
            `${server.url}${path}`,
            ...structured({ id: `e-${code}`, source: "/s", type: "t" }),
          );
          assert.equal(answer.status, status, `${path}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.code, code);
          assert.equal(answer.headers.get("retry-after"), retryAfter);
          assert.equal(answer.headers.get("content-type"), "application/problem+json");
        }
      }
      assert.equal(await inner.headPosition(), 0, "nothing was stored");
      // The client gets a precise answer; the operator still sees each storage failure in the log.
      for (const code of ["SQLITE_FULL", "SQLITE_BUSY", "SQLITE_IOERR_WRITE"]) {
        assert.ok(
          lines.some((l) => l.includes(code) && JSON.parse(l).level >= 50),
          `${code} logged at error level:\n${lines.join("\n")}`,
        );
      }
      // Any other failure is still a 500, never a 2xx.
      fail(new Error("something else"));
      const other = await post<Problem>(
        `${server.url}/events`,
        ...structured({ id: "x", source: "/s", type: "t" }),
      );
      assert.equal(other.status, 500);
      assert.equal(other.body.code, "internal-error");
      // Once storage recovers, the same event is stored.
      fail(undefined);
      const ok = await post(
        `${server.url}/events`,
        ...structured({ id: "e-storage-full", source: "/s", type: "t" }),
      );
      assert.equal(ok.status, 200);
      assert.equal(await inner.headPosition(), 1);
    });
    await inner.close();
  });
});
