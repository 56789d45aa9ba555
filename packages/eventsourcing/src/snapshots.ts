// Optional snapshots: the folded state at some version, kept beside the stream so a long stream
// loads from there instead of from version 0. Never needed for correctness: a missing, unreadable or
// outdated snapshot (another `schemaVersion`) is ignored and the state is folded from the events.
import { CloudEvent } from "@herald/cloudevents";
import type { MetadataStore } from "@herald/log";
import type { EventStore } from "./event-store.js";

export interface Snapshot {
  /** The stream version the state includes. */
  readonly version: number;
  /** Id of the event at `version`: a snapshot whose event is gone or different is ignored. */
  readonly eventId: string;
  /** The state's shape version (SnapshotOptions.schemaVersion when it was taken). */
  readonly schemaVersion: number;
  /** The state, JSON-encoded by SnapshotOptions.serialize. */
  readonly state: unknown;
}

export interface SnapshotStore {
  load(stream: string): Promise<Snapshot | undefined>;
  save(stream: string, snapshot: Snapshot): Promise<void>;
}

const KEY_PREFIX = "eventsourcing/snapshot/";

/** Snapshots in an EventLog's metadata store (key `eventsourcing/snapshot/<stream>`). */
export function metadataSnapshotStore(metadata: MetadataStore): SnapshotStore {
  return {
    async load(stream) {
      const raw = await metadata.get(KEY_PREFIX + stream);
      return raw === undefined ? undefined : (JSON.parse(raw) as Snapshot);
    },
    async save(stream, snapshot) {
      await metadata.set(KEY_PREFIX + stream, JSON.stringify(snapshot));
    },
  };
}

export const SNAPSHOT_EVENT_TYPE = "herald.eventsourcing.snapshot";

/**
 * Snapshots as events of a side stream `<stream><suffix>` of any EventStore (works through
 * `herald serve` too); the newest is the last event of that stream.
 */
export function streamSnapshotStore(
  store: EventStore,
  options: { readonly suffix?: string; readonly source?: string } = {},
): SnapshotStore {
  const suffix = options.suffix ?? ".snapshots";
  const source = options.source ?? "herald:eventsourcing";
  return {
    async load(stream) {
      const events = await store.readStream(stream + suffix);
      const last = events.at(-1);
      return last === undefined ? undefined : (last.event.data as Snapshot);
    },
    async save(stream, snapshot) {
      const event = new CloudEvent({ source, type: SNAPSHOT_EVENT_TYPE, subject: stream, data: snapshot });
      await store.append(stream + suffix, [event], "any");
    },
  };
}

export interface SnapshotOptions<State> {
  readonly store: SnapshotStore;
  /** Take a snapshot when an append crosses a multiple of this many events. */
  readonly every: number;
  /** Bump it when State's shape changes: older snapshots are then ignored. Default 1. */
  readonly schemaVersion?: number;
  /** Default: the state as it is (it must survive JSON). */
  readonly serialize?: (state: State) => unknown;
  readonly deserialize?: (raw: unknown) => State;
}
