// Checkpoints after a backup and restore. The log's identity (`EventLog.identity()`) says which log
// this is and which copy of it; the server stamps the subscription state with the identity it last
// ran on (`server/log-identity` in the metadata). On start, a subscription's checkpoint is stale when
// it lies beyond what this copy of the log holds: past the head, or, when the copy is a new epoch,
// past the position the epoch began at (a checkpoint stored later, outside the restored backup: a
// partial restore, or checkpoints carried over from the live database), or when the stamp names
// another log. Resuming it would skip the new events that will take those positions. What happens is
// the setting `staleCheckpoints`: `refuse` holds the subscription (marker `subscription-stale/<id>`,
// cleared by a reset), `rewind` moves it back and redelivers. docs/backup-restore.md.
import { checkpointStaleness, type EventLog, type LogIdentity } from "@herald/log";
import type { StaleCheckpoint } from "@herald/protocol";

const STAMP_KEY = "server/log-identity";
const STALE_PREFIX = "subscription-stale/";

export type StaleCheckpointAction = "refuse" | "rewind";

export interface IdentityCheck {
  readonly identity: LogIdentity;
  readonly head: number;
  /** The stamp named another epoch or log: this database is a restore or copy. */
  readonly restored: boolean;
  readonly stamp: { readonly id: string; readonly epoch: string } | undefined;
}

export async function readIdentity(log: EventLog): Promise<IdentityCheck> {
  const [identity, head, raw] = await Promise.all([
    log.identity(),
    log.headPosition(),
    log.metadata.get(STAMP_KEY),
  ]);
  const stamp = raw === undefined ? undefined : (JSON.parse(raw) as { id: string; epoch: string });
  const restored = stamp !== undefined && (stamp.id !== identity.id || stamp.epoch !== identity.epoch);
  return { identity, head, restored, stamp };
}

/** Stamps the subscription state with the identity it now runs on. */
export async function stampIdentity(log: EventLog, check: IdentityCheck): Promise<void> {
  if (check.stamp?.id === check.identity.id && check.stamp.epoch === check.identity.epoch) return;
  await log.metadata.set(STAMP_KEY, JSON.stringify({ id: check.identity.id, epoch: check.identity.epoch }));
}

/**
 * The verdict on one subscription whose checkpoints (its own, and its partitions' in a cluster) are
 * `positions`; undefined when it may resume. `to` is where a rewind moves it.
 */
export function judge(
  check: IdentityCheck,
  subscription: string,
  positions: readonly number[],
  action: StaleCheckpointAction,
): StaleCheckpoint | undefined {
  const checkpoint = Math.max(0, ...positions);
  const reason = checkpointStaleness(check.stamp, checkpoint, check.identity, check.head);
  if (reason === undefined) return undefined;
  if (action === "refuse") return { subscription, checkpoint, reason, action: "held" };
  // Another log's checkpoint says nothing about this one: from the beginning. A restore: back to
  // what this copy held when it began (or its head). Checkpoints below it stay where they are.
  const to =
    reason === "foreign" ? 0 : check.restored ? Math.min(check.identity.epochStart, check.head) : check.head;
  return { subscription, checkpoint, reason, action: "rewound", to };
}

export async function loadHeld(log: EventLog, id: string): Promise<StaleCheckpoint | undefined> {
  const raw = await log.metadata.get(STALE_PREFIX + id);
  return raw === undefined ? undefined : (JSON.parse(raw) as StaleCheckpoint);
}

export function storeHeld(log: EventLog, verdict: StaleCheckpoint): Promise<void> {
  return log.metadata.set(STALE_PREFIX + verdict.subscription, JSON.stringify(verdict));
}

export function clearHeld(log: EventLog, id: string): Promise<void> {
  return log.metadata.delete(STALE_PREFIX + id);
}
