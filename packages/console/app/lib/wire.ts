// Wire shapes the page reads: all from @herald/protocol (types only, erased by the bundler), so the
// page and the server share one declaration of each.
import type { JsonEventObject, SubscriptionStats } from "@herald/protocol";

export type {
  ConsoleSessionResponse,
  DeadLetterRecord,
  DeadLettersResponse,
  DeliveriesResponse,
  DeliveryAttempt,
  IndexResponse,
  JsonEventObject,
  LineageEntry,
  LineageResponse,
  ListStreamsResponse,
  LogEntry,
  ProblemDetails,
  ReadEventsResponse,
  ReadyResponse,
  RedriveResponse,
  ResetResponse,
  SeriesPoint,
  StatsSeriesResponse,
  StreamSummary,
  SubscriptionResource,
  SubscriptionStats,
} from "@herald/protocol";

/** The stats the subscriptions view shows (GET /stats/subscriptions, GET /subscriptions/{id}/stats). */
export type ConsoleStats = SubscriptionStats;

export type Event = JsonEventObject;
