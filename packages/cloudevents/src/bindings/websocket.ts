// WebSockets protocol binding (websockets-protocol-binding.md): structured mode only; the event format is
// the negotiated subprotocol. Herald supports `cloudevents.json` (text frames); no batches.
import { CloudEventDecodeError } from "../errors.js";
import type { CloudEvent } from "../event.js";
import { decodeJsonEvent, encodeJsonEvent } from "../json-format.js";

export const WEBSOCKET_JSON_SUBPROTOCOL = "cloudevents.json";

/**
 * Server side of the handshake: the subprotocol to answer with, given the client's
 * `Sec-WebSocket-Protocol` offer, or undefined when it offers none Herald supports (then omit the header).
 */
export function chooseWebSocketSubprotocol(
  offered: string | readonly string[] | undefined,
): string | undefined {
  if (offered === undefined) return undefined;
  const list = typeof offered === "string" ? offered.split(",") : offered.flatMap((o) => o.split(","));
  return list.some((p) => p.trim() === WEBSOCKET_JSON_SUBPROTOCOL) ? WEBSOCKET_JSON_SUBPROTOCOL : undefined;
}

/** One WebSocket message: the JSON event, to be sent as a text frame. */
export function encodeWebSocket(event: CloudEvent): { readonly data: string; readonly binary: false } {
  return { data: encodeJsonEvent(event), binary: false };
}

/**
 * Decodes one WebSocket message received on a connection that negotiated `subprotocol`
 * (default `cloudevents.json`). Text and binary frames are both read as UTF-8 JSON.
 */
export function decodeWebSocket(
  data: string | Uint8Array,
  subprotocol: string = WEBSOCKET_JSON_SUBPROTOCOL,
): CloudEvent {
  if (subprotocol !== WEBSOCKET_JSON_SUBPROTOCOL) {
    throw new CloudEventDecodeError(
      "unsupported-media-type",
      `subprotocol ${subprotocol} is not supported (only ${WEBSOCKET_JSON_SUBPROTOCOL})`,
    );
  }
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new CloudEventDecodeError("malformed", "a WebSocket message must be text or bytes");
  }
  return decodeJsonEvent(data);
}
