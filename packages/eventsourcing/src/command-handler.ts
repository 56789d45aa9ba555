// The command handler: load the stream, fold it, decide, append with the version the decision was
// based on. A concurrent writer makes the append fail with VersionConflictError; then the command is
// decided again on the fresher state, a bounded number of times (the decider is pure, so a retry is
// always safe). The last conflict surfaces as CommandConflictError.
import type { CloudEvent } from "@herald/cloudevents";
import { VersionConflictError } from "@herald/log";
import { type BackoffOptions, backoffDelay, sleep } from "@herald/sdk";
import type { CatalogCodec, DomainEventOf, EventAttributes, EventCatalog } from "./catalog.js";
import { catalogCodec } from "./catalog.js";
import { type Decider, decisionEvents } from "./decider.js";
import { CommandConflictError, UnreadableEventError } from "./errors.js";
import type { EventStore } from "./event-store.js";
import type { Snapshot, SnapshotOptions } from "./snapshots.js";

export interface CommandHandlerOptions<Command, State, C extends EventCatalog> {
  readonly decider: Decider<Command, State, DomainEventOf<C>>;
  readonly events: C;
  readonly store: EventStore;
  /** `source` of the events written (required by CloudEvents). */
  readonly source: string;
  /** Retries after a version conflict (default 3; 0 = fail on the first conflict). */
  readonly maxRetries?: number;
  /** Pause before each retry (default: full jitter, base 5 ms, cap 100 ms). */
  readonly retryBackoff?: BackoffOptions;
  readonly snapshots?: SnapshotOptions<State>;
  /** A snapshot that could not be loaded or saved (it never fails the command). */
  readonly onSnapshotError?: (error: unknown) => void;
}

export interface CommandOptions {
  /** Extra attributes for every event written (subject, correlationid…). Default subject: the stream. */
  readonly attributes?: Omit<EventAttributes, "source">;
}

export interface CommandResult<State, Event> {
  /** The events appended ([] when the decider decided nothing). */
  readonly events: readonly Event[];
  /** The state after them. */
  readonly state: State;
  /** The stream's version after the command (-1: still no stream). */
  readonly version: number;
  /** Decide attempts (1 = no conflict). */
  readonly attempts: number;
}

interface Loaded<State> {
  readonly state: State;
  readonly version: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, capMs: 100 };

export class CommandHandler<Command, State, C extends EventCatalog> {
  readonly #options: CommandHandlerOptions<Command, State, C>;
  readonly #codec: CatalogCodec<DomainEventOf<C>>;

  constructor(options: CommandHandlerOptions<Command, State, C>) {
    const retries = options.maxRetries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`maxRetries must be an integer ≥ 0`);
    if (options.snapshots && !(Number.isInteger(options.snapshots.every) && options.snapshots.every > 0))
      throw new RangeError(`snapshots.every must be an integer ≥ 1`);
    this.#options = options;
    this.#codec = catalogCodec(options.events);
  }

  /** The current state of a stream (and its version, -1 when it does not exist). */
  async load(stream: string): Promise<{ readonly state: State; readonly version: number }> {
    const { state, version } = await this.#load(stream);
    return { state, version };
  }

  async handle(
    stream: string,
    command: Command,
    options: CommandOptions = {},
  ): Promise<CommandResult<State, DomainEventOf<C>>> {
    const { decider, store } = this.#options;
    const maxRetries = this.#options.maxRetries ?? 3;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.#load(stream);
      const events = decisionEvents(decider.decide(command, loaded.state));
      if (events.length === 0)
        return { events, state: loaded.state, version: loaded.version, attempts: attempt };
      const attributes = { subject: stream, ...options.attributes, source: this.#options.source };
      const cloudEvents: CloudEvent[] = events.map((e) => this.#codec.encode(e, attributes));
      const expected = loaded.version < 0 ? "no-stream" : loaded.version;
      try {
        const appended = await store.append(stream, cloudEvents, expected);
        let state = loaded.state;
        for (const e of events) state = decider.evolve(state, e);
        const lastId = cloudEvents.at(-1)!.id;
        await this.#maybeSnapshot(stream, loaded.version, appended.version, lastId, state);
        return { events, state, version: appended.version, attempts: attempt };
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (attempt > maxRetries) {
          throw new CommandConflictError(stream, attempt, error);
        }
        await sleep(backoffDelay(attempt, this.#options.retryBackoff ?? DEFAULT_BACKOFF));
      }
    }
  }

  async #load(stream: string): Promise<Loaded<State>> {
    const { decider, store } = this.#options;
    const snapshot = await this.#loadSnapshot(stream);
    // Read from the snapshot's own version: its event must still be there, with the same id, or the
    // stream was recreated since and the snapshot describes another history.
    let events = await store.readStream(stream, snapshot?.version ?? 0);
    let state = decider.initialState();
    let version = -1;
    if (snapshot !== undefined) {
      const first = events[0];
      if (first !== undefined && first.version === snapshot.version && first.event.id === snapshot.eventId) {
        state = snapshot.state;
        version = snapshot.version;
        events = events.slice(1);
      } else {
        events = await store.readStream(stream, 0);
      }
    }
    for (const stored of events) {
      let event: DomainEventOf<C>;
      try {
        event = this.#codec.decode(stored.event);
      } catch (error) {
        throw new UnreadableEventError(stream, stored.version, (error as Error).message, { cause: error });
      }
      state = decider.evolve(state, event);
      version = stored.version;
    }
    return { state, version };
  }

  async #loadSnapshot(
    stream: string,
  ): Promise<{ state: State; version: number; eventId: string } | undefined> {
    const options = this.#options.snapshots;
    if (!options) return undefined;
    try {
      const snapshot = await options.store.load(stream);
      if (snapshot === undefined || snapshot.schemaVersion !== (options.schemaVersion ?? 1)) return undefined;
      const state = options.deserialize ? options.deserialize(snapshot.state) : (snapshot.state as State);
      return { state, version: snapshot.version, eventId: snapshot.eventId };
    } catch (error) {
      this.#options.onSnapshotError?.(error);
      return undefined;
    }
  }

  async #maybeSnapshot(
    stream: string,
    before: number,
    after: number,
    eventId: string,
    state: State,
  ): Promise<void> {
    const options = this.#options.snapshots;
    if (!options) return;
    // Versions are 0-based: after version v the stream holds v + 1 events.
    if (Math.floor((after + 1) / options.every) === Math.floor((before + 1) / options.every)) return;
    const snapshot: Snapshot = {
      version: after,
      eventId,
      schemaVersion: options.schemaVersion ?? 1,
      state: options.serialize ? options.serialize(state) : state,
    };
    try {
      await options.store.save(stream, snapshot);
    } catch (error) {
      this.#options.onSnapshotError?.(error);
    }
  }
}
