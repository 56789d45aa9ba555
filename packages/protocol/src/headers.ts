// Every header name, media type and system stream name of Herald's HTTP wire, written once.
// Header names are lower case: node:http gives them so, and HTTP compares them case-insensitively.
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from "@herald/cloudevents";

/** `POST /streams/{stream}`: `any`, `no-stream`, `exists` or a version number. */
export const EXPECTED_VERSION_HEADER = "herald-expected-version";
/** CloudEvents HTTP binary mode: every context attribute travels as `ce-<name>`. */
export const CE_HEADER_PREFIX = "ce-";
/** Standard Webhooks headers on every signed push. */
export const WEBHOOK_ID_HEADER = "webhook-id";
export const WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp";
export const WEBHOOK_SIGNATURE_HEADER = "webhook-signature";
export const RETRY_AFTER_HEADER = "retry-after";
export const WWW_AUTHENTICATE_HEADER = "www-authenticate";
export const AUTHORIZATION_HEADER = "authorization";
/** `Authorization: Bearer <api key>`; 401 answers challenge with `Bearer realm="herald"`. */
export const AUTH_SCHEME = "Bearer";
export const AUTH_REALM = "herald";
/** Browsers cannot set headers on a WebSocket: the key may come as `?access_token=` there. */
export const ACCESS_TOKEN_QUERY = "access_token";
export const ACCEPT_HEADER = "accept";
export const CONTENT_TYPE_HEADER = "content-type";
export const CONTENT_LENGTH_HEADER = "content-length";
export const LOCATION_HEADER = "location";
export const ALLOW_HEADER = "allow";
/** On every answer of `herald serve`: the server's version (as in `GET /` and `/healthz`). */
export const HERALD_VERSION_HEADER = "herald-version";

/** Plain JSON bodies (every request and answer that is not an event or a problem). */
export const JSON_MEDIA_TYPE = "application/json";
/** One event in the CloudEvents JSON format (structured mode). */
export const CLOUDEVENTS_JSON_MEDIA_TYPE: typeof CLOUDEVENTS_JSON = CLOUDEVENTS_JSON;
/** An array of events in the CloudEvents JSON format (batch mode). */
export const CLOUDEVENTS_BATCH_MEDIA_TYPE: typeof CLOUDEVENTS_BATCH_JSON = CLOUDEVENTS_BATCH_JSON;
/** RFC 9457 error answers. */
export const PROBLEM_JSON_MEDIA_TYPE = "application/problem+json";
/** `GET /subscriptions/{id}/sse`. */
export const EVENT_STREAM_MEDIA_TYPE = "text/event-stream";

/** Streams whose name starts with this belong to Herald: clients cannot append to them. */
export const SYSTEM_STREAM_PREFIX = "$";
/** A subscription's dead letters live in stream `$deadletter-<subscription id>`. */
export const DEAD_LETTER_STREAM_PREFIX = "$deadletter-";
/** The `type` of a dead-letter event. */
export const DEAD_LETTER_EVENT_TYPE = "herald.deadletter";

/** The dead-letter stream of a subscription. */
export function deadLetterStream(subscriptionId: string): string {
  return `${DEAD_LETTER_STREAM_PREFIX}${subscriptionId}`;
}

/** Is this one of Herald's own streams (`$` prefix)? */
export function isSystemStream(stream: string): boolean {
  return stream.startsWith(SYSTEM_STREAM_PREFIX);
}
