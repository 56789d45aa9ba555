// A dead-letter sink that appends to a Herald stream, in the shape the broker uses for its own
// `$deadletter-<id>` streams (type herald.deadletter, the original event unchanged in data), so one
// tool reads both. User streams cannot start with `$`; pick e.g. `deadletter-billing`.
import { CloudEvent } from "@herald/cloudevents";
import { DEAD_LETTER_EVENT_TYPE, JSON_MEDIA_TYPE } from "@herald/protocol";
import type { HeraldClient } from "../client/client.js";
import { SendFailedError } from "../client/send-result.js";
import type { DeadLetter, DeadLetterSink } from "./dead-letter.js";

export const DEAD_LETTER_TYPE: typeof DEAD_LETTER_EVENT_TYPE = DEAD_LETTER_EVENT_TYPE;

export function deadLetterEvent(letter: DeadLetter, consumer: string): CloudEvent {
  return new CloudEvent({
    // One dead letter per event and delivery: a retried sink write is deduplicated by the broker.
    id: `${letter.event.source}#${letter.event.id}#${letter.attempt}`,
    source: `/herald/sdk/${consumer}`,
    type: DEAD_LETTER_TYPE,
    subject: letter.event.id,
    datacontenttype: JSON_MEDIA_TYPE,
    data: {
      consumer,
      reason: letter.reason,
      attempts: letter.attempt,
      lastError: `${letter.error.name}: ${letter.error.message}`,
      lastAttemptAt: letter.at,
      event: letter.event.toJSON(),
    },
  });
}

/** Appends each dead letter to `stream` (throws SendFailedError when the broker does not ack it). */
export function deadLetterToStream(client: HeraldClient, stream: string, consumer = stream): DeadLetterSink {
  return async (letter) => {
    const result = await client.send(deadLetterEvent(letter, consumer), { stream });
    if (!result.ok) throw new SendFailedError(result);
  };
}
