// Frames of live consumption over one connection: `GET /subscriptions/{id}/sse` (Server-Sent
// Events) and WebSocket `/subscriptions/{id}/ws`. The server writes them, the SDK reads them.
import type { ProblemCode } from "./problems.js";
import type { AppendedEvent, JsonEventObject, ProblemDetails, PulledMessage } from "./wire.js";

/** Query parameters both streaming endpoints take. */
export const STREAM_QUERY = Object.freeze({
  /** `auto` | `manual` (default): with auto, a message counts as acked once written. */
  ack: "ack",
  /** Most unacked messages one connection holds (default: the subscription's maxInFlight). */
  max: "max",
  /** SSE only: `event` (default: data is the bare event) | `message` (data is a StreamMessage). */
  frame: "frame",
});

export type StreamAckMode = "auto" | "manual";
export type SseFrameFormat = "event" | "message";

/** One delivery, as a pull answer lists it, a WebSocket frame carries it, an SSE `message` frame holds it. */
export type StreamMessage = PulledMessage;

/**
 * SSE event names (the `event:` field). Every frame's `id:` is the ackId; acks and nacks go to
 * `POST /subscriptions/{id}/ack` and `/nack`. Comment lines (`: ping`) are heartbeats.
 */
export const SSE_EVENT = Object.freeze({
  /** `?frame=event` (default): data is the CloudEvent's JSON. */
  cloudevent: "cloudevent",
  /** `?frame=message`: data is a StreamMessage (deliveryCount, position, stream, event). */
  message: "message",
});

/** Interval of the SSE heartbeat comment. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Interval of the server's WebSocket pings. */
export const WS_PING_MS = 30_000;

/** WebSocket client → server: settle deliveries. */
export interface WsAckCommand {
  readonly ack: readonly string[];
}
export interface WsNackCommand {
  readonly nack: readonly string[];
  /** Redeliver no sooner than this (default: the subscription's backoff). */
  readonly delayMs?: number;
}
export type WsCommand = WsAckCommand | WsNackCommand;

/** WebSocket server → client, after a command naming ackIds the server does not hold (expired, settled). */
export interface WsUnknownFrame {
  readonly unknown: readonly string[];
}
/** WebSocket server → client: a command was malformed; the connection stays open. */
export interface WsErrorFrame {
  readonly error: string;
  readonly code: ProblemCode;
}
export type WsServerFrame = StreamMessage | WsUnknownFrame | WsErrorFrame;

/** WebSocket close codes the server uses. */
export const WS_CLOSE = Object.freeze({
  /** The subscription stopped (update, delete, shutdown): reconnect. */
  serviceRestart: 1012,
  /** The connection could not be attached. */
  internalError: 1011,
  /** Ingest: the server is shutting down (frames in flight were answered first). */
  goingAway: 1001,
});

// ---------- WebSocket ingest: `/events/ws` ----------
// The persistent form of `POST /events`: the client pipelines frames, each with an id of its own
// choosing; the server answers each one as soon as its append is durable (answers may overtake
// each other: match them by id). Same validation, limits, problem codes and dedupe by source+id.

/** Path of the WebSocket ingest endpoint (access `publish`). */
export const WS_INGEST_PATH = "/events/ws";

/** Frames one connection may have unanswered; beyond it the server stops reading the socket. */
export const WS_INGEST_MAX_IN_FLIGHT = 1024;

/** Client → server: one event (structured JSON format). */
export interface WsPublishEventFrame {
  /** Chosen by the client, echoed in the answer; unique among the connection's unanswered frames. */
  readonly id: string;
  readonly event: JsonEventObject;
}
/** Client → server: a batch, appended atomically (all stored or none), as `application/cloudevents-batch+json`. */
export interface WsPublishBatchFrame {
  readonly id: string;
  readonly events: readonly JsonEventObject[];
}
export type WsPublishFrame = WsPublishEventFrame | WsPublishBatchFrame;

/** Server → client: the frame's events are durable; one result per event, as `POST /events` answers. */
export interface WsPublishAckFrame {
  readonly id: string;
  readonly results: readonly AppendedEvent[];
}
/** Server → client: the frame was refused (nothing appended); `id` is null when it could not be read. */
export interface WsPublishProblemFrame {
  readonly id: string | null;
  readonly problem: ProblemDetails;
}
export type WsPublishServerFrame = WsPublishAckFrame | WsPublishProblemFrame;
