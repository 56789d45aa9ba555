// @herald/protocol: the HTTP contract shared by the server, the SDK and the CLI.
export {
  SSE_EVENT,
  SSE_HEARTBEAT_MS,
  type SseFrameFormat,
  STREAM_QUERY,
  type StreamAckMode,
  type StreamMessage,
  WS_CLOSE,
  WS_PING_MS,
  type WsAckCommand,
  type WsCommand,
  type WsErrorFrame,
  type WsNackCommand,
  type WsServerFrame,
  type WsUnknownFrame,
} from "./stream-frames.js";
