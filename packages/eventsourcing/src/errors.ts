// Typed errors of event sourcing. A decider throws a DomainError (or a subclass) to refuse a command;
// the command handler surfaces a conflict that outlived its retries as CommandConflictError.
import type { VersionConflictError } from "@herald/log";

/** A command the decider refuses (a business rule). Subclass it for each rule, with a `code`. */
export class DomainError extends Error {
  override name = "DomainError";
  /** A stable, machine-readable reason ("order-already-shipped"…). */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Every attempt of a command met a concurrent writer; nothing of this command was appended. */
export class CommandConflictError extends Error {
  override readonly name = "CommandConflictError";
  readonly stream: string;
  /** How many times the command was decided (the first try plus the retries). */
  readonly attempts: number;
  /** The last conflict the store reported. */
  override readonly cause: VersionConflictError;
  constructor(stream: string, attempts: number, cause: VersionConflictError) {
    super(`stream "${stream}": still conflicting after ${attempts} attempt(s) (${cause.message})`, { cause });
    this.stream = stream;
    this.attempts = attempts;
    this.cause = cause;
  }
}

/**
 * A projection's checkpoint the source's log cannot vouch for (ProjectorOptions.onStaleCheckpoint
 * "refuse"): `ahead` — the log was restored from a backup older than the checkpoint, or the
 * checkpoint lies past the log's head; `foreign` — the checkpoint was taken on another log.
 */
export class StaleCheckpointError extends Error {
  override readonly name = "StaleCheckpointError";
  readonly code = "projection-checkpoint-stale";
  readonly projection: string;
  readonly position: number;
  readonly reason: "ahead" | "foreign";
  constructor(projection: string, position: number, reason: "ahead" | "foreign") {
    super(
      `projection "${projection}": checkpoint ${position} is stale (${reason === "ahead" ? "the log no longer holds it: restored from an older backup" : "taken on another log"}); rebuild it (onStaleCheckpoint: "rebuild")`,
    );
    this.projection = projection;
    this.position = position;
    this.reason = reason;
  }
}

/** A stored event the catalog cannot read (unknown type, bad data, newer data version). */
export class UnreadableEventError extends Error {
  override readonly name = "UnreadableEventError";
  readonly stream: string;
  readonly version: number;
  constructor(stream: string, version: number, message: string, options?: ErrorOptions) {
    super(`stream "${stream}" version ${version}: ${message}`, options);
    this.stream = stream;
    this.version = version;
  }
}
