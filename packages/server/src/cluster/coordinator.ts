// The cluster coordinator of storage `postgres`: several `herald serve` instances over one schema act
// as one broker. It keeps, in the log's own database:
//   cluster_nodes          — one heartbeat row per live instance (for /readyz);
//   subscription_members   — per subscription, the instances that want to deliver it: every live
//                            instance for a push subscription, only those with consumers connected
//                            (or pulling lately) for a pull subscription, so an instance without
//                            consumers never holds partitions hostage;
//   subscription_leases    — per (subscription, partition) the instance delivering it and until when;
//   resources_version      — bumped (with a NOTIFY) by every subscription create/update/delete/reset,
//                            so the other instances reload the resources.
// Every `leaseMs / 3` an instance renews its rows, computes which partitions are its share (partition
// k → the (k mod n)-th member), claims those that are free or expired, renews those it holds and
// gives back those no longer its share (after draining them and storing their checkpoints). A
// partition is delivered only while its lease is valid by the holder's own clock (it stops at
// `tick start + leaseMs`, before the database's expiry), so one instance delivers it at a time.
import type { ClusterStatus, OldTransaction } from "@herald/protocol";
import pg from "pg";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { assignedPartitions } from "./partition.js";

/** What the coordinator drives: one subscription's partitions on this instance. */
export interface LeaseTarget {
  /** Whether this instance wants a share of the subscription now. */
  interested(now: number): boolean;
  /** Partitions delivered here now (including those being given back). */
  owned(): readonly number[];
  has(partition: number): boolean;
  /** The lease was won: start delivering from the partition's checkpoint. */
  acquire(partition: number, validUntil: number): void;
  /** The lease was renewed until `validUntil` (local clock). */
  renew(partition: number, validUntil: number): void;
  /** Give the partition back: stop handing out, drain, store its checkpoint. */
  release(partition: number): Promise<void>;
  /** The lease is gone (expired or taken): stop at once. */
  lose(partition: number): void;
  /** Stops every partition whose lease ran out by the local clock. */
  expire(now: number): void;
}

export interface ClusterOptions {
  readonly connection: pg.PoolConfig;
  readonly schema: string;
  readonly nodeId: string;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Another instance changed the subscription resources. */
  readonly onResourcesChanged: () => void;
  /** Open transactions older than this are reported (ms). Default 5 000. */
  readonly oldTransactionMs?: number;
}

const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
    CREATE TABLE ${s}.cluster_nodes (node text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL);
    CREATE TABLE ${s}.subscription_members (subscription text NOT NULL, node text NOT NULL,
      expires_at timestamptz NOT NULL, PRIMARY KEY (subscription, node));
    CREATE TABLE ${s}.subscription_leases (subscription text NOT NULL, partition integer NOT NULL,
      node text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (subscription, partition));
    CREATE TABLE ${s}.resources_version (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      version bigint NOT NULL);
    INSERT INTO ${s}.resources_version (version) VALUES (0);
  `,
];

export class ClusterCoordinator {
  readonly nodeId: string;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly #options: ClusterOptions;
  readonly #s: string;
  readonly #channel: string;
  readonly #pool: pg.Pool;
  readonly #targets = new Map<string, LeaseTarget>();
  readonly #releasing = new Set<string>();
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #resourcesVersion = -1;
  #nodes: string[] = [];
  #oldTransactions: OldTransaction[] = [];
  #timer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryLook: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #tickAgain = false;
  #tickQueued = false;
  /** Heartbeats begin once the tables exist (subscriptions register before that, at load). */
  #started = false;
  #stopped = false;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.partitions = options.partitions;
    this.leaseMs = options.leaseMs;
    this.#s = `"${options.schema}"`;
    this.#channel = `herald_cluster_${options.schema}`;
    this.#pool = new pg.Pool({
      ...options.connection,
      max: 2,
      application_name: `herald-cluster-${options.nodeId}`.slice(0, 63),
    });
    this.#pool.on("error", () => {});
    const registers = [options.registry];
    const coordinator = this;
    new Gauge({
      name: "herald_cluster_partitions_owned",
      help: "Subscription partitions this instance delivers (holds the lease of)",
      labelNames: ["node", "subscription"],
      registers,
      collect() {
        this.reset();
        for (const [id, target] of coordinator.#targets)
          this.set({ node: coordinator.nodeId, subscription: id }, target.owned().length);
      },
    });
    new Gauge({
      name: "herald_cluster_nodes",
      help: "Live instances sharing the database (their heartbeats)",
      labelNames: ["node"],
      registers,
      collect() {
        this.set({ node: coordinator.nodeId }, coordinator.#nodes.length);
      },
    });
    new Gauge({
      name: "herald_postgres_oldest_transaction_seconds",
      help: "Age of the oldest transaction open longer than the warning age (0: none); one holding the log's head row holds back every append",
      labelNames: ["node", "blocks_appends"],
      registers,
      collect() {
        this.reset();
        const oldest = (blocks: boolean) =>
          Math.max(
            0,
            ...coordinator.#oldTransactions
              .filter((t) => t.blocksAppends === blocks)
              .map((t) => t.ageSeconds),
          );
        this.set({ node: coordinator.nodeId, blocks_appends: "true" }, oldest(true));
        this.set({ node: coordinator.nodeId, blocks_appends: "false" }, oldest(false));
      },
    });
  }

  /** Creates the cluster tables (under an advisory lock: instances may start at once), then heartbeats. */
  async start(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock(hashtext('herald_cluster'), hashtext($1))", [
          this.#options.schema,
        ]);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.#s}.cluster_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const done = await client.query<{ v: number | null }>(
          `SELECT max(version) AS v FROM ${this.#s}.cluster_migrations`,
        );
        const current = done.rows[0]?.v ?? 0;
        if (current > MIGRATIONS.length)
          throw new Error(
            `cluster schema is at version ${current}, newer than this build (${MIGRATIONS.length})`,
          );
        for (let version = current + 1; version <= MIGRATIONS.length; version++) {
          await client.query(MIGRATIONS[version - 1]!(this.#s));
          await client.query(`INSERT INTO ${this.#s}.cluster_migrations (version) VALUES ($1)`, [version]);
        }
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
    this.#resourcesVersion = await this.#readResourcesVersion();
    await this.#listen();
    this.#started = true;
    await this.tick();
    this.#timer = setInterval(() => this.kick(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.#timer.unref();
    this.#expiryTimer = setInterval(
      () => {
        const now = Date.now();
        for (const target of this.#targets.values()) target.expire(now);
      },
      Math.max(25, Math.floor(this.leaseMs / 10)),
    );
    this.#expiryTimer.unref();
  }

  /** Gives back every lease and leaves the cluster (graceful shutdown: the others take over at once). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#expiryTimer) clearInterval(this.#expiryTimer);
    if (this.#expiryLook) clearTimeout(this.#expiryLook);
    await this.#ticking.catch(() => {});
    try {
      await this.#pool.query(
        `WITH a AS (DELETE FROM ${this.#s}.subscription_leases WHERE node = $1),
              b AS (DELETE FROM ${this.#s}.subscription_members WHERE node = $1),
              c AS (DELETE FROM ${this.#s}.cluster_nodes WHERE node = $1)
         SELECT pg_notify($2, 'leases')`,
        [this.nodeId, this.#channel],
      );
    } catch (error) {
      this.#options.logger.warn({ err: error }, "cluster: leases not given back (they expire)");
    }
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  /** Drives `target`'s partitions of subscription `id` (replacing an earlier target of that id). */
  register(id: string, target: LeaseTarget): void {
    this.#targets.set(id, target);
    this.kick();
  }

  unregister(id: string, target: LeaseTarget): void {
    if (this.#targets.get(id) === target) this.#targets.delete(id);
    this.kick();
  }

  /** Tells the other instances that the resources changed (after a create/update/delete/reset). */
  async resourcesChanged(): Promise<void> {
    const result = await this.#pool.query<{ version: string }>(
      `WITH v AS (UPDATE ${this.#s}.resources_version SET version = version + 1 RETURNING version)
       SELECT version, pg_notify($1, 'resources') FROM v`,
      [this.#channel],
    );
    const version = Number(result.rows[0]!.version);
    // Only our own change since the last look: nothing to reload. Otherwise someone else's came too.
    if (version === this.#resourcesVersion + 1) this.#resourcesVersion = version;
    else this.#options.onResourcesChanged();
  }

  status(): ClusterStatus {
    const owned: Record<string, number[]> = {};
    for (const [id, target] of this.#targets) {
      const list = [...target.owned()].sort((a, b) => a - b);
      if (list.length > 0) owned[id] = list;
    }
    return { nodes: [...this.#nodes], partitions: this.partitions, leaseMs: this.leaseMs, owned };
  }

  oldTransactions(): readonly OldTransaction[] {
    return this.#oldTransactions;
  }

  /** Runs a tick soon (coalesced): membership or interest changed. */
  kick(): void {
    if (this.#stopped || !this.#started) return;
    if (this.#tickQueued) {
      this.#tickAgain = true;
      return;
    }
    this.#tickQueued = true;
    this.#ticking = this.#ticking.then(async () => {
      this.#tickQueued = false;
      try {
        await this.tick();
      } catch (error) {
        if (!this.#stopped) this.#options.logger.warn({ err: error }, "cluster heartbeat failed");
      }
      if (this.#tickAgain) {
        this.#tickAgain = false;
        this.kick();
      }
    });
  }

  /** One heartbeat: membership, leases, resources version, old transactions. */
  async tick(): Promise<void> {
    if (this.#stopped || !this.#started) return;
    const started = Date.now();
    const validUntil = started + this.leaseMs;
    const me = this.nodeId;
    const lease = this.leaseMs;
    const interested = [...this.#targets].filter(([, t]) => t.interested(started)).map(([id]) => id);
    const members = await this.#pool.query<{ subscription: string; node: string; ttl: number }>(
      `WITH n AS (
         INSERT INTO ${this.#s}.cluster_nodes (node, expires_at) VALUES ($1, now() + $3 * interval '1 millisecond')
         ON CONFLICT (node) DO UPDATE SET expires_at = excluded.expires_at),
       m AS (
         INSERT INTO ${this.#s}.subscription_members (subscription, node, expires_at)
         SELECT s, $1, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) s
         ON CONFLICT (subscription, node) DO UPDATE SET expires_at = excluded.expires_at),
       d AS (
         DELETE FROM ${this.#s}.subscription_members WHERE node = $1 AND NOT (subscription = ANY($2::text[])))
       SELECT subscription, node, extract(epoch FROM expires_at - now())::float8 * 1000 AS ttl
       FROM ${this.#s}.subscription_members WHERE expires_at > now() AND node <> $1
       UNION ALL SELECT s, $1, 0 FROM unnest($2::text[]) s
       UNION ALL SELECT '', node, 0 FROM ${this.#s}.cluster_nodes WHERE expires_at > now() AND node <> $1
       UNION ALL SELECT '', '', extract(epoch FROM min(expires_at) - now())::float8 * 1000
       FROM ${this.#s}.subscription_leases WHERE node <> $1 AND expires_at > now()`,
      [me, interested, lease],
    );
    const bySubscription = new Map<string, string[]>();
    const nodes = new Set<string>([me]);
    // When another instance's membership or lease runs out next: look again right then, so a dead
    // instance's partitions move about `leaseMs` after its last heartbeat, not up to a tick later.
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const row of members.rows) {
      if (row.node !== me && row.ttl !== null && row.ttl > 0) nextExpiry = Math.min(nextExpiry, row.ttl);
      if (row.subscription === "" && row.node === "") continue;
      if (row.subscription === "") nodes.add(row.node);
      else bySubscription.set(row.subscription, [...(bySubscription.get(row.subscription) ?? []), row.node]);
    }
    this.#nodes = [...nodes].sort();
    this.#scheduleExpiryLook(nextExpiry);

    // Claim our share, renew what we hold (also what we are giving back, until it is given back).
    const wanted = new Map<string, Set<number>>();
    for (const id of interested) {
      wanted.set(id, new Set(assignedPartitions(bySubscription.get(id) ?? [me], me, this.partitions)));
    }
    const subs: string[] = [];
    const parts: number[] = [];
    for (const [id, target] of this.#targets) {
      const claim = new Set([...(wanted.get(id) ?? []), ...target.owned()]);
      for (const k of claim) {
        subs.push(id);
        parts.push(k);
      }
    }
    const held = await this.#pool.query<{ subscription: string; partition: number }>(
      `INSERT INTO ${this.#s}.subscription_leases AS l (subscription, partition, node, expires_at)
       SELECT s, p, $3, now() + $4 * interval '1 millisecond' FROM unnest($1::text[], $2::int[]) AS t(s, p)
       ON CONFLICT (subscription, partition) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at
       WHERE l.node = excluded.node OR l.expires_at <= now()
       RETURNING subscription, partition`,
      [subs, parts, me, lease],
    );
    if (this.#stopped) return;
    const holds = new Set(held.rows.map((row) => `${row.subscription}\u0000${row.partition}`));
    for (const [id, target] of this.#targets) {
      for (const k of target.owned()) if (!holds.has(`${id}\u0000${k}`)) target.lose(k);
    }
    for (const row of held.rows) {
      const { subscription: id, partition: k } = row;
      const target = this.#targets.get(id);
      const key = `${id}\u0000${k}`;
      if (this.#releasing.has(key)) continue;
      if (target !== undefined && wanted.get(id)?.has(k)) {
        if (target.has(k)) target.renew(k, validUntil);
        else if (Date.now() < validUntil) target.acquire(k, validUntil);
      } else {
        if (target?.has(k)) target.renew(k, validUntil);
        void this.#release(id, k, target);
      }
    }

    const version = await this.#readResourcesVersion();
    if (version !== this.#resourcesVersion) {
      this.#resourcesVersion = version;
      this.#options.onResourcesChanged();
    }
    if (this.#listener === undefined) await this.#listen().catch(() => {});
    this.#oldTransactions = await this.#readOldTransactions().catch(() => this.#oldTransactions);
  }

  #scheduleExpiryLook(inMs: number): void {
    if (!Number.isFinite(inMs) || inMs >= this.leaseMs / 3) return;
    if (this.#expiryLook !== undefined) clearTimeout(this.#expiryLook);
    this.#expiryLook = setTimeout(() => {
      this.#expiryLook = undefined;
      this.kick();
    }, Math.ceil(inMs) + 10);
    this.#expiryLook.unref();
  }

  async #release(id: string, k: number, target: LeaseTarget | undefined): Promise<void> {
    const key = `${id}\u0000${k}`;
    this.#releasing.add(key);
    try {
      if (target?.has(k)) await target.release(k);
      await this.#pool.query(
        `WITH d AS (DELETE FROM ${this.#s}.subscription_leases WHERE subscription = $1 AND partition = $2 AND node = $3)
         SELECT pg_notify($4, 'leases')`,
        [id, k, this.nodeId, this.#channel],
      );
    } catch (error) {
      if (!this.#stopped)
        this.#options.logger.warn({ err: error, subscription: id, partition: k }, "lease not given back");
    } finally {
      this.#releasing.delete(key);
    }
  }

  async #readResourcesVersion(): Promise<number> {
    const result = await this.#pool.query<{ version: string }>(
      `SELECT version FROM ${this.#s}.resources_version`,
    );
    return Number(result.rows[0]!.version);
  }

  /** Transactions open longer than the warning age, from pg_stat_activity (this database only). */
  async #readOldTransactions(): Promise<OldTransaction[]> {
    const result = await this.#pool.query<{
      pid: number;
      application_name: string;
      state: string | null;
      age: number;
      blocks: boolean;
    }>(
      `SELECT a.pid, a.application_name, a.state,
              extract(epoch FROM now() - a.xact_start)::float8 AS age,
              EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation'
                        AND l.mode = 'RowShareLock' AND l.relation = to_regclass($2)) AS blocks
       FROM pg_stat_activity a
       WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
         AND a.xact_start < now() - $1 * interval '1 millisecond'
       ORDER BY a.xact_start LIMIT 10`,
      [this.#options.oldTransactionMs ?? 5_000, `${this.#s}.log_head`],
    );
    return result.rows.map((row) => ({
      pid: row.pid,
      applicationName: row.application_name,
      state: row.state ?? "",
      ageSeconds: Math.round(row.age * 10) / 10,
      blocksAppends: row.blocks,
    }));
  }

  /** LISTEN for other instances' changes; a lost connection is reopened at the next heartbeat. */
  #listen(): Promise<void> {
    this.#listening ??= (async () => {
      const client = new pg.Client({
        ...this.#options.connection,
        application_name: `herald-cluster-listen-${this.nodeId}`.slice(0, 63),
      });
      const drop = () => {
        if (this.#listener === client) this.#listener = undefined;
        client.end().catch(() => {});
      };
      client.on("error", drop);
      client.on("end", drop);
      client.on("notification", (message) => {
        if (message.payload === "resources") this.#options.onResourcesChanged();
        this.kick();
      });
      try {
        await client.connect();
        await client.query(`LISTEN "${this.#channel}"`);
        if (this.#stopped) {
          await client.end();
          return;
        }
        this.#listener = client;
      } catch (error) {
        drop();
        throw error;
      }
    })().finally(() => {
      this.#listening = undefined;
    });
    return this.#listening;
  }
}
