// Typed errors of the log. The server maps them to HTTP answers (409, 410, 503, 400).
import type { ExpectedVersion } from "./event-log.js";

/** The stream was not at the expected version; nothing of the append was stored. */
export class VersionConflictError extends Error {
  override readonly name = "VersionConflictError";
  readonly stream: string;
  readonly expected: ExpectedVersion;
  /** The stream's actual version; -1 when the stream does not exist. */
  readonly actual: number;
  constructor(stream: string, expected: ExpectedVersion, actual: number) {
    super(`stream "${stream}": expected version ${String(expected)}, actual ${actual}`);
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The stream was deleted (tombstoned): it cannot be read or appended to again. */
export class StreamDeletedError extends Error {
  override readonly name = "StreamDeletedError";
  readonly stream: string;
  constructor(stream: string) {
    super(`stream "${stream}" is deleted`);
    this.stream = stream;
  }
}

/** The log was closed; no more reads or writes. */
export class LogClosedError extends Error {
  override readonly name = "LogClosedError";
  constructor() {
    super("the event log is closed");
  }
}

/** A call to the log had invalid arguments (bad stream name, bad expected version, bad limit…). */
export class LogInputError extends Error {
  override readonly name = "LogInputError";
}

/** The SQLite database is held by another open log (in this or another process): one log owns a file. */
export class LogLockedError extends Error {
  override readonly name = "LogLockedError";
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`the log database ${path} is open in another connection or process`, options);
    this.path = path;
  }
}

/**
 * Making a commit durable failed (the WAL's fsync returned an error). The writes waiting for it
 * failed, and the log refuses every later write: after a failed fsync the kernel's page cache may
 * have dropped the dirty pages, so what is on disk is unknown (PostgreSQL's "fsync panic"
 * reasoning). Close the log and open it again: recovery reads what the disk really holds.
 */
export class LogFailedError extends Error {
  override readonly name = "LogFailedError";
  constructor(options?: ErrorOptions) {
    super("the event log could not make a commit durable (fsync failed); reopen the log", options);
  }
}
