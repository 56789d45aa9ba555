// MallBots gateway (backend for frontend): the kiosk REST API, the staff page and its live stream,
// and the bots' stream. No database: it forwards to the services and fans out what it sees on Herald.
import type { CloudEvent } from "@herald/cloudevents";
import { defineEventSource } from "@herald/service";
import {
  ApproveOrder,
  AssignShopping,
  AuthorizePayment,
  CancelShopping,
  CapturePayment,
  CATALOG,
  CompletePickup,
  HoldForPickup,
  heraldClient,
  type MallbotsConfig,
  MarkOrderReady,
  ReleasePayment,
  type RunningService,
  SCOPES,
  SOURCES,
  SUBSCRIPTIONS,
  startApp,
  TaskDeadline,
} from "@mallbots/contracts";
import { botsApi } from "./bots.js";
import { Feed } from "./feed.js";
import { kioskApi } from "./kiosk.js";
import type { FeedItem } from "./messages.js";
import { staffApi } from "./staff.js";
import { Upstream } from "./upstream.js";

export { Feed } from "./feed.js";
export * from "./messages.js";

/** Not for the staff page or the bots: the saga's commands and Depot's private timer. */
const PRIVATE = new Set(
  [
    ApproveOrder,
    MarkOrderReady,
    CompletePickup,
    AuthorizePayment,
    ReleasePayment,
    CapturePayment,
    AssignShopping,
    CancelShopping,
    HoldForPickup,
    TaskDeadline,
  ].map((definition) => definition.type),
);

/** The integration events of the contract: what the gateway's subscription takes. */
export const GATEWAY_TYPES: readonly string[] = Object.keys(CATALOG).filter((type) => !PRIVATE.has(type));

/** `mallbots.<service>.<name>` is published by that service only. */
function fromOwner(event: CloudEvent): boolean {
  const owner = event.type.split(".")[1] as keyof typeof SOURCES;
  return Object.hasOwn(SOURCES, owner) && SOURCES[owner] === event.source;
}

export async function startGateway(config: MallbotsConfig): Promise<RunningService> {
  const client = heraldClient(config);
  const upstream = new Upstream(config);
  const feed = new Feed<FeedItem>();
  const seen = defineEventSource({
    trigger: `herald.${SUBSCRIPTIONS.gateway}`,
    summary: "The MallBots events the staff page and the bots are told about",
    types: GATEWAY_TYPES,
    // Only the owner of a type publishes it.
    authorize: fromOwner,
    // From now: the page's snapshot covers the past, and a bot's held task comes from Depot.
    subscription: { types: [...GATEWAY_TYPES], config: { start: "now" } },
    handler: (event) => {
      feed.publish({
        kind: "event",
        // The event's time, else when the gateway saw it (the page's "updated" column).
        event: {
          type: event.type,
          subject: event.subject,
          time: event.time ?? new Date().toISOString(),
          data: event.data,
        },
      });
    },
  });
  return startApp({
    name: "gateway",
    config,
    definitions: [...kioskApi(upstream), ...staffApi(upstream, feed), ...botsApi(upstream, feed), seen],
    client,
    // Staff and the services may also use the kiosk routes (a staff member helping a customer).
    apiKeys: {
      [config.kioskKey]: { subject: "kiosk", scopes: [SCOPES.kiosk] },
      [config.staffKey]: { subject: "staff", scopes: [SCOPES.staff, SCOPES.kiosk] },
      [config.botKey]: { subject: "bot", scopes: [SCOPES.bot] },
      [config.internalKey]: {
        subject: "mallbots-internal",
        scopes: [SCOPES.internal, SCOPES.kiosk, SCOPES.staff],
      },
    },
  });
}
