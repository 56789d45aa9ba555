import type { CloudEvent } from "@herald/cloudevents";
import { decodeEvent } from "./event-codec.js";
import type { StoredEvent } from "./event-log.js";

/** A stored event that decodes its JSON only on first access to `event` (catch-up readers often need only `json`). */
export class LazyStoredEvent implements StoredEvent {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly recordedAt: number;
  readonly json: string;
  #event: CloudEvent | undefined;

  constructor(position: number, stream: string, version: number, recordedAt: number, json: string) {
    this.position = position;
    this.stream = stream;
    this.version = version;
    this.recordedAt = recordedAt;
    this.json = json;
  }

  get event(): CloudEvent {
    if (this.#event === undefined) this.#event = decodeEvent(this.json);
    return this.#event;
  }
}
