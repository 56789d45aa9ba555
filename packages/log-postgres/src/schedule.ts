// Scheduled delivery on PostgreSQL: the `scheduled` table. `add` and `cancel` are one transaction
// each; `release` runs inside the log's append transaction (postgres-log.ts), which holds the
// log_head row lock of every append of every process: it deletes the due rows and inserts them into
// events in one commit, so with several processes each event is appended once.
import {
  type AppendResult,
  type CancelOutcome,
  checkCancelArguments,
  checkListScheduledOptions,
  checkScheduleArguments,
  encodeEvent,
  eventKey,
  LazyScheduledEvent,
  type ListScheduledOptions,
  planSchedule,
  type ScheduledPage,
  type ScheduleRequest,
  type ScheduleResult,
  type ScheduleStore,
} from "@herald/log/backend";
import type pg from "pg";

export interface ScheduledRow {
  seq: string;
  source: string;
  id: string;
  stream: string;
  deliver_at: string;
  json: string;
}

export interface PostgresScheduleHooks {
  readonly checkOpen: () => void;
  /** Runs the release inside the append transaction (postgres-log.ts). */
  readonly release: (now: number, limit: number | undefined) => Promise<readonly AppendResult[]>;
}

/** The due rows, deleted: the release's first statement, inside the append transaction. */
export async function takeDue(
  client: pg.ClientBase,
  s: string,
  now: number,
  limit: number,
): Promise<ScheduledRow[]> {
  const due = await client.query<ScheduledRow>(
    `DELETE FROM ${s}.scheduled WHERE seq IN (
       SELECT seq FROM ${s}.scheduled WHERE deliver_at <= $1 ORDER BY deliver_at, seq LIMIT $2
     ) RETURNING seq, source, id, stream, deliver_at, json`,
    [now, limit],
  );
  return due.rows.sort(
    (a, b) => Number(a.deliver_at) - Number(b.deliver_at) || Number(a.seq) - Number(b.seq),
  );
}

export class PostgresSchedule implements ScheduleStore {
  readonly #pool: pg.Pool;
  readonly #s: string;
  readonly #hooks: PostgresScheduleHooks;

  constructor(pool: pg.Pool, schema: string, hooks: PostgresScheduleHooks) {
    this.#pool = pool;
    this.#s = schema;
    this.#hooks = hooks;
  }

  async add(
    requests: readonly ScheduleRequest[],
    options?: { readonly stream?: string },
  ): Promise<readonly ScheduleResult[]> {
    this.#hooks.checkOpen();
    const streams = checkScheduleArguments(requests, options);
    if (requests.length === 0) return [];
    const s = this.#s;
    const sources = requests.map((request) => request.event.source);
    const ids = requests.map((request) => request.event.id);
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const logged = await client.query<{
        source: string;
        id: string;
        position: string;
        stream: string;
        version: string;
      }>(
        `SELECT e.source, e.id, e.position, e.stream, e.version FROM ${s}.events e
           JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON e.source = k.source AND e.id = k.id`,
        [sources, ids],
      );
      const inLog = new Map<string, AppendResult>();
      for (const row of logged.rows)
        inLog.set(eventKey(row.source, row.id), {
          id: row.id,
          source: row.source,
          position: Number(row.position),
          stream: row.stream,
          version: Number(row.version),
          duplicate: true,
        });
      const held = await client.query<{ source: string; id: string; stream: string; deliver_at: string }>(
        `SELECT p.source, p.id, p.stream, p.deliver_at FROM ${s}.scheduled p
           JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON p.source = k.source AND p.id = k.id`,
        [sources, ids],
      );
      const pending = new Map<string, { stream: string; deliverAt: number }>();
      for (const row of held.rows)
        pending.set(eventKey(row.source, row.id), { stream: row.stream, deliverAt: Number(row.deliver_at) });
      const { results, fresh } = planSchedule(
        requests,
        streams,
        (source, id) => inLog.get(eventKey(source, id)),
        (source, id) => pending.get(eventKey(source, id)),
      );
      if (fresh.length > 0) {
        // A concurrent add of the same source+id may win the unique index: ours is then a duplicate.
        const inserted = await client.query<{ source: string; id: string }>(
          `INSERT INTO ${s}.scheduled (source, id, stream, deliver_at, json)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
           ON CONFLICT (source, id) DO NOTHING RETURNING source, id`,
          [
            fresh.map((index) => sources[index]!),
            fresh.map((index) => ids[index]!),
            fresh.map((index) => streams[index]!),
            fresh.map((index) => requests[index]!.deliverAt),
            fresh.map((index) => encodeEvent(requests[index]!.event)),
          ],
        );
        const stored = new Set(inserted.rows.map((row) => eventKey(row.source, row.id)));
        for (const index of fresh)
          if (!stored.has(eventKey(sources[index]!, ids[index]!)))
            results[index] = { ...results[index]!, duplicate: true };
      }
      await client.query("COMMIT");
      return results;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  release(now: number, limit?: number): Promise<readonly AppendResult[]> {
    return this.#hooks.release(now, limit);
  }

  async cancel(source: string, id: string): Promise<CancelOutcome> {
    this.#hooks.checkOpen();
    checkCancelArguments(source, id);
    const s = this.#s;
    // A release holding the row makes this DELETE wait for its commit, and then find nothing.
    const removed = await this.#pool.query(`DELETE FROM ${s}.scheduled WHERE source = $1 AND id = $2`, [
      source,
      id,
    ]);
    if ((removed.rowCount ?? 0) > 0) return "cancelled";
    const logged = await this.#pool.query(`SELECT 1 FROM ${s}.events WHERE source = $1 AND id = $2`, [
      source,
      id,
    ]);
    return logged.rows.length > 0 ? "released" : "unknown";
  }

  async list(options?: ListScheduledOptions): Promise<ScheduledPage> {
    this.#hooks.checkOpen();
    const { after, limit } = checkListScheduledOptions(options);
    const page = await this.#pool.query<ScheduledRow>(
      `SELECT seq, source, id, stream, deliver_at, json FROM ${this.#s}.scheduled
        WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [after, limit],
    );
    const entries = page.rows.map(
      (row) =>
        new LazyScheduledEvent(
          Number(row.seq),
          row.source,
          row.id,
          row.stream,
          Number(row.deliver_at),
          row.json,
        ),
    );
    return { entries, next: entries.length === 0 ? after : entries[entries.length - 1]!.seq };
  }

  async next(): Promise<number | undefined> {
    this.#hooks.checkOpen();
    const result = await this.#pool.query<{ at: string | null }>(
      `SELECT min(deliver_at) AS at FROM ${this.#s}.scheduled`,
    );
    const at = result.rows[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }
}
