// Frames of live consumption over one connection: `GET /subscriptions/{id}/sse` (Server-Sent
// Events) and WebSocket `/subscriptions/{id}/ws`. The server writes them, the SDK reads them.
import type { ProblemCode } from "./problems.js";
import type { PulledMessage } from "./wire.js";

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
});
