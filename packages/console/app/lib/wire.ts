// Wire shapes the page reads. Existing ones come from @herald/protocol (types only, erased by the bundler);
// the console endpoints (lineage, correlation, stats list, deliveries, series) are typed here after
// their description in the console-server branch until @herald/protocol exports them: then import those.
import type { JsonEventObject, LogEntry } from "@herald/protocol";

export type {
  ConsoleSessionResponse,
  DeadLetterRecord,
  DeadLettersResponse,
  IndexResponse,
  JsonEventObject,
  ListStreamsResponse,
  LogEntry,
  ProblemDetails,
  ReadEventsResponse,
  ReadyResponse,
  RedriveResponse,
  ResetResponse,
  StreamSummary,
  SubscriptionResource,
  SubscriptionStats,
} from "@herald/protocol";

/** A stats answer with the console fields (absent on a server without them). */
export interface ConsoleStats {
  readonly id: string;
  readonly lag: number;
  readonly lagExact: boolean;
  readonly inFlight: number;
  readonly buffered: number;
  readonly checkpoint: number;
  readonly head: number;
  readonly delivered: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly redrivePending: number;
  readonly lagSeconds?: number;
  readonly deliveryRate?: number;
  readonly stalled?: boolean;
  readonly lastProgressAt?: string | null;
}

export interface LineageEntry extends LogEntry {
  readonly depth?: number;
  /** Position of the parent effect. */
  readonly causedBy?: number;
}

export interface LineageResponse {
  readonly event: LogEntry;
  readonly causes: readonly LineageEntry[];
  readonly effects: readonly LineageEntry[];
  readonly correlation: {
    readonly id: string;
    readonly events: readonly LogEntry[];
    readonly next: number;
    readonly more: boolean;
  } | null;
  readonly missing: readonly { readonly id: string; readonly neededBy: number }[];
  readonly truncated: boolean;
}

export interface DeliveryAttempt {
  readonly position: number;
  readonly eventId: string;
  readonly source: string;
  readonly stream: string;
  readonly attempt: number;
  readonly outcome: string;
  readonly status?: number;
  readonly latencyMs?: number;
  readonly error?: string;
  readonly at: string;
}

export interface DeliveriesResponse {
  readonly deliveries: readonly DeliveryAttempt[];
  readonly capacity: number;
}

export interface SeriesPoint {
  readonly t: number;
  readonly ingested: number;
  readonly ingestRate: number;
  readonly ingestP50Ms: number | null;
  readonly ingestP99Ms: number | null;
  readonly delivered: number;
  readonly deliveryRate: number;
  readonly deliveryP50Ms: number | null;
  readonly deliveryP99Ms: number | null;
  readonly failed: number;
}

export interface StatsSeriesResponse {
  readonly server: {
    readonly version: string;
    readonly storage: string;
    readonly nodeId?: string;
    readonly startedAt?: string;
    readonly head?: number;
  };
  readonly intervalMs: number;
  readonly points: readonly SeriesPoint[];
}

export type Event = JsonEventObject;
