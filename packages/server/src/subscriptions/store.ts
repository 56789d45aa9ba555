// Persistence of subscription state in the log: resources in `log.metadata`
// (`subscription/<id>`), delivery progress in `log.checkpoints` (group `subscription/<id>`) and
// redriven dead letters still to deliver in `log.metadata` (`subscription-redrive/<id>`).
import { deadLetterStream } from "@herald/protocol";
import type { EventLog } from "@herald/log";
import type { SubscriptionResource } from "./model.js";

const RESOURCE_PREFIX = "subscription/";
const REDRIVE_PREFIX = "subscription-redrive/";

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
    await this.log.checkpoints.delete(checkpointGroup(id));
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

  storeRedrive(id: string, state: RedriveState): Promise<void> {
    return this.log.metadata.set(REDRIVE_PREFIX + id, JSON.stringify(state));
  }
}

export function checkpointGroup(id: string): string {
  return RESOURCE_PREFIX + id;
}

export { deadLetterStream };
