// Persistence of subscription state in the log: resources in `log.metadata`
// (`subscription/<id>`), delivery progress in `log.checkpoints` (group `subscription/<id>`) and
// redriven dead letters still to deliver in `log.metadata` (`subscription-redrive/<id>`).
import { deadLetterStream } from "@herald/protocol";
import type { EventLog } from "@herald/log";
import type { SubscriptionResource } from "./model.js";
import type { SharedRedriveState } from "./redrive.js";

const RESOURCE_PREFIX = "subscription/";
const REDRIVE_PREFIX = "subscription-redrive/";
const EPOCH_PREFIX = "subscription-epoch/";
/** Cluster mode: one key per pending / ever redriven dead-letter version. */
const REDRIVE_PENDING_PREFIX = "subscription-redrive-pending/";
const REDRIVE_REDRIVEN_PREFIX = "subscription-redrive-redriven/";

/** Dead-letter stream versions: queued for redelivery, and every one ever redriven. */
export interface RedriveState {
  readonly pending: readonly number[];
  readonly redriven: readonly number[];
}

export class SubscriptionStore {
  constructor(private readonly log: EventLog) {}

  async list(): Promise<SubscriptionResource[]> {
    const rows = await this.log.metadata.list(RESOURCE_PREFIX);
    return rows.map((row) => JSON.parse(row.value) as SubscriptionResource);
  }

  async get(id: string): Promise<SubscriptionResource | undefined> {
    const value = await this.log.metadata.get(RESOURCE_PREFIX + id);
    return value === undefined ? undefined : (JSON.parse(value) as SubscriptionResource);
  }

  async put(resource: SubscriptionResource): Promise<void> {
    await this.log.metadata.set(RESOURCE_PREFIX + resource.id, JSON.stringify(resource));
  }

  async delete(id: string): Promise<void> {
    await this.log.metadata.delete(RESOURCE_PREFIX + id);
    await this.log.metadata.delete(REDRIVE_PREFIX + id);
    await this.log.metadata.delete(EPOCH_PREFIX + id);
    for (const prefix of [REDRIVE_PENDING_PREFIX, REDRIVE_REDRIVEN_PREFIX])
      for (const row of await this.log.metadata.list(`${prefix}${id}/`))
        await this.log.metadata.delete(row.key);
    await this.log.checkpoints.delete(checkpointGroup(id));
    const partitions = `${checkpointGroup(id)}@`;
    for (const row of await this.log.checkpoints.list())
      if (row.group.startsWith(partitions)) await this.log.checkpoints.delete(row.group);
  }

  /**
   * Cluster mode: the epoch names the current set of partition checkpoints. A create or a reset
   * starts a new one, so a checkpoint an instance stores late for the old set is never read again.
   */
  loadEpoch(id: string): Promise<string | undefined> {
    return this.log.metadata.get(EPOCH_PREFIX + id);
  }

  storeEpoch(id: string, epoch: string): Promise<void> {
    return this.log.metadata.set(EPOCH_PREFIX + id, epoch);
  }

  loadPartitionCheckpoint(id: string, epoch: string, partition: number): Promise<number | undefined> {
    return this.log.checkpoints.load(partitionGroup(id, epoch, partition));
  }

  storePartitionCheckpoint(id: string, epoch: string, partition: number, position: number): Promise<void> {
    return this.log.checkpoints.store(partitionGroup(id, epoch, partition), position);
  }

  /** Every stored checkpoint by group (cluster mode reads the partitions delivered elsewhere). */
  async allCheckpoints(): Promise<Map<string, number>> {
    return new Map((await this.log.checkpoints.list()).map((row) => [row.group, row.position]));
  }

  loadCheckpoint(id: string): Promise<number | undefined> {
    return this.log.checkpoints.load(checkpointGroup(id));
  }

  storeCheckpoint(id: string, position: number): Promise<void> {
    return this.log.checkpoints.store(checkpointGroup(id), position);
  }

  async loadRedrive(id: string): Promise<RedriveState> {
    const value = await this.log.metadata.get(REDRIVE_PREFIX + id);
    return value === undefined ? { pending: [], redriven: [] } : (JSON.parse(value) as RedriveState);
  }

  /** Cluster mode: the redrive state as one key per version (see SharedRedriveState). */
  sharedRedrive(id: string): SharedRedriveState {
    const metadata = this.log.metadata;
    const pending = `${REDRIVE_PENDING_PREFIX}${id}/`;
    const redriven = `${REDRIVE_REDRIVEN_PREFIX}${id}/`;
    const versions = async (prefix: string) =>
      (await metadata.list(prefix)).map((row) => Number(row.key.slice(prefix.length)));
    return {
      load: async () => ({ pending: await versions(pending), redriven: await versions(redriven) }),
      queue: async (picked) => {
        await Promise.all(
          picked.flatMap((v) => [metadata.set(pending + v, "1"), metadata.set(redriven + v, "1")]),
        );
      },
      done: (version) => metadata.delete(pending + version),
    };
  }

  storeRedrive(id: string, state: RedriveState): Promise<void> {
    return this.log.metadata.set(REDRIVE_PREFIX + id, JSON.stringify(state));
  }
}

export function checkpointGroup(id: string): string {
  return RESOURCE_PREFIX + id;
}

/** Checkpoint group of one partition of a subscription in cluster mode. */
export function partitionGroup(id: string, epoch: string, partition: number): string {
  return `${RESOURCE_PREFIX}${id}@${epoch}/p${partition}`;
}

export { deadLetterStream };
