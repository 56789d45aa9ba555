// The log's identity: which database this is, and which copy of it. A backup carries the log's
// `id` along; a restore is a new physical copy, detected by a fingerprint the copy cannot carry
// (SQLite: the file's device and inode; PostgreSQL: the cluster's system identifier, the database's
// oid and the timeline), and starts a new `epoch` at the head it has. Positions above `epochStart`
// may have been given out, in the epoch before, to events this copy does not hold: a checkpoint
// taken there, stored outside this database, is stale. See docs/backup-restore.md.
import { randomUUID } from "node:crypto";
import type { LogIdentity } from "./event-log.js";

/** What a backend stores beside its events. */
export interface StoredIdentity extends LogIdentity {
  readonly fingerprint: string;
}

/**
 * The identity to use on opening: `stored` when the fingerprint matches, a new epoch starting at
 * `head` when it does not (a restored or copied database), a new log when there is none.
 */
export function openIdentity(
  stored: StoredIdentity | undefined,
  fingerprint: string,
  head: number,
): { readonly identity: StoredIdentity; readonly changed: boolean } {
  if (stored === undefined)
    return {
      identity: { id: randomUUID(), epoch: randomUUID(), epochStart: head, fingerprint },
      changed: true,
    };
  if (stored.fingerprint === fingerprint) return { identity: stored, changed: false };
  return {
    identity: {
      id: stored.id,
      epoch: randomUUID(),
      epochStart: head,
      previousEpoch: stored.epoch,
      fingerprint,
    },
    changed: true,
  };
}

export function publicIdentity(stored: StoredIdentity): LogIdentity {
  return {
    id: stored.id,
    epoch: stored.epoch,
    epochStart: stored.epochStart,
    ...(stored.previousEpoch !== undefined ? { previousEpoch: stored.previousEpoch } : {}),
  };
}

export function parseStoredIdentity(json: string): StoredIdentity {
  return JSON.parse(json) as StoredIdentity;
}

/**
 * Whether a checkpoint taken at `position` of `stamp` (the identity it was stored with) may be
 * resumed on a log of identity `current` whose head is `head`. Undefined when it may.
 */
export function checkpointStaleness(
  stamp: Pick<LogIdentity, "id" | "epoch"> | undefined,
  position: number,
  current: LogIdentity,
  head: number,
): "foreign" | "ahead" | undefined {
  if (stamp !== undefined && stamp.id !== current.id) return "foreign";
  if (position > head) return "ahead";
  if (stamp !== undefined && stamp.epoch !== current.epoch && position > current.epochStart) return "ahead";
  return undefined;
}
