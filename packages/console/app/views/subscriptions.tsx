// Subscriptions: the list with lag (events and seconds), in flight, rate and stalled; one subscription's
// stats, delivery attempts, definition (edit as JSON), delete, and reset with a preview count first.
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, errorText, isMissingRoute, query } from "../lib/api.js";
import { formatDuration, formatNumber } from "../lib/format.js";
import { href, navigate } from "../lib/route.js";
import type { Session } from "../lib/session.js";
import { ConfirmButton, ErrorBox, Notice, onListKeys } from "../lib/ui.js";
import type { ConsoleStats, DeliveriesResponse, ResetResponse, SubscriptionResource } from "../lib/wire.js";

const REFRESH_MS = 3000;

/** Every subscription's stats: one call where the server has it, else one per subscription. */
async function allStats(ids: readonly string[]): Promise<Map<string, ConsoleStats>> {
  try {
    const answer = await call<{ subscriptions: ConsoleStats[] }>("/stats/subscriptions");
    return new Map(answer.subscriptions.map((s) => [s.id, s]));
  } catch (error) {
    if (!isMissingRoute(error)) throw error;
  }
  const list = await Promise.all(
    ids.map((id) =>
      call<ConsoleStats>(`/subscriptions/${encodeURIComponent(id)}/stats`).catch(() => undefined),
    ),
  );
  return new Map(list.filter((s): s is ConsoleStats => s !== undefined).map((s) => [s.id, s]));
}

export function SubscriptionsView({ session }: { session: Session }) {
  const [subs, setSubs] = useState<readonly SubscriptionResource[] | undefined>(undefined);
  const [stats, setStats] = useState<Map<string, ConsoleStats>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [creating, setCreating] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!session.admin) return;
    let stopped = false;
    const load = async () => {
      try {
        const list = await call<SubscriptionResource[]>("/subscriptions");
        const s = await allStats(list.map((r) => r.id));
        if (stopped) return;
        setSubs(list);
        setStats(s);
        setError(undefined);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [tick]);

  if (!session.admin) return <Notice>Listing subscriptions needs an API key with the admin scope.</Notice>;
  return (
    <section aria-labelledby="subs-title">
      <header class="row">
        <h1 id="subs-title">Subscriptions</h1>
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          New subscription
        </button>
      </header>
      {creating && (
        <CreateForm
          onCreated={(id) => {
            setCreating(false);
            setTick(tick + 1);
            navigate(`subscriptions/${id}`);
          }}
        />
      )}
      <ErrorBox error={error} />
      <div>
        <table class="grid" aria-label="Subscriptions">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Delivery</th>
              <th scope="col">Lag (events)</th>
              <th scope="col">Lag (age)</th>
              <th scope="col">In flight</th>
              <th scope="col">Rate (/s)</th>
              <th scope="col">Dead letters</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {(subs ?? []).map((sub) => {
              const s = stats.get(sub.id);
              return (
                <tr key={sub.id}>
                  <td>
                    <button
                      type="button"
                      class="row-open link"
                      onKeyDown={onListKeys}
                      aria-label={`Open subscription ${sub.id}`}
                      onClick={() => navigate(`subscriptions/${sub.id}`)}
                    >
                      {sub.id}
                    </button>
                  </td>
                  <td>{sub.sink ? `push ${sub.sink}` : "pull"}</td>
                  <td class="num">
                    {formatNumber(s?.lag)}
                    {s && !s.lagExact ? "+" : ""}
                  </td>
                  <td class="num">{formatDuration(s?.lagSeconds)}</td>
                  <td class="num">{formatNumber(s?.inFlight)}</td>
                  <td class="num">{formatNumber(s?.deliveryRate, 1)}</td>
                  <td class="num">
                    <a href={href("dead-letters", { subscription: sub.id })}>
                      {formatNumber(s?.deadLettered)}
                    </a>
                  </td>
                  <td>{s?.stalled ? <strong class="bad">stalled</strong> : s ? "ok" : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {subs !== undefined && subs.length === 0 && <p class="muted">No subscriptions yet.</p>}
    </section>
  );
}

function CreateForm({ onCreated }: { onCreated: (id: string) => void }) {
  const [form, setForm] = useState({
    id: "",
    sink: "",
    types: "",
    sql: "",
    start: "beginning",
    ordering: "key",
    maxDeliveries: "10",
  });
  const [error, setError] = useState<unknown>(undefined);
  const set = (name: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [name]: (e.target as HTMLInputElement | HTMLSelectElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    const types = form.types
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    const body = {
      ...(form.id.trim() ? { id: form.id.trim() } : {}),
      ...(form.sink.trim() ? { sink: form.sink.trim() } : {}),
      ...(types.length > 0 ? { types } : {}),
      filters: form.sql.trim() ? [{ sql: form.sql.trim() }] : [],
      config: { start: form.start, ordering: form.ordering, maxDeliveries: form.maxDeliveries },
    };
    try {
      const created = await call<SubscriptionResource>("/subscriptions", { method: "POST", body });
      onCreated(created.id);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="New subscription">
      <label>
        Id <input name="id" value={form.id} onInput={set("id")} placeholder="generated when empty" />
      </label>
      <label>
        Sink URL <input name="sink" value={form.sink} onInput={set("sink")} placeholder="empty: pull" />
      </label>
      <label>
        Event types{" "}
        <input name="types" value={form.types} onInput={set("types")} placeholder="comma-separated" />
      </label>
      <label>
        CESQL filter <input name="sql" value={form.sql} onInput={set("sql")} />
      </label>
      <label>
        Start
        <select name="start" value={form.start} onChange={set("start")}>
          <option value="beginning">beginning</option>
          <option value="now">now</option>
        </select>
      </label>
      <label>
        Ordering
        <select name="ordering" value={form.ordering} onChange={set("ordering")}>
          <option value="key">key</option>
          <option value="none">none</option>
        </select>
      </label>
      <label>
        Max deliveries{" "}
        <input
          name="maxDeliveries"
          inputMode="numeric"
          value={form.maxDeliveries}
          onInput={set("maxDeliveries")}
        />
      </label>
      <button type="submit">Create</button>
      <FieldErrors error={error} />
    </form>
  );
}

function FieldErrors({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const fields = error instanceof ApiError ? (error.problem?.errors ?? []) : [];
  return (
    <div role="alert" class="error">
      <p>{errorText(error)}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function SubscriptionDetail({ id, session }: { id: string; session: Session }) {
  const [sub, setSub] = useState<SubscriptionResource | undefined>(undefined);
  const [stats, setStats] = useState<ConsoleStats | undefined>(undefined);
  const [deliveries, setDeliveries] = useState<DeliveriesResponse | "missing" | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [json, setJson] = useState("");
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);
  const path = `/subscriptions/${encodeURIComponent(id)}`;

  useEffect(() => {
    let stopped = false;
    call<SubscriptionResource>(path)
      .then((s) => {
        if (stopped) return;
        setSub(s);
        setJson(JSON.stringify(s, null, 2));
      })
      .catch((e: unknown) => !stopped && setError(e));
    const load = async () => {
      try {
        const s = await call<ConsoleStats>(`${path}/stats`);
        if (!stopped) setStats(s);
        const d = await call<DeliveriesResponse>(`${path}/deliveries${query({ limit: 50 })}`).catch(
          (e: unknown) => {
            if (isMissingRoute(e)) return "missing" as const;
            throw e;
          },
        );
        if (!stopped) setDeliveries(d);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [id]);

  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    try {
      const body = JSON.parse(json) as unknown;
      const answer = await call<SubscriptionResource>(path, { method: "PUT", body });
      setSub(answer);
      setJson(JSON.stringify(answer, null, 2));
      setSaveError(undefined);
      setSaved(true);
    } catch (e) {
      setSaveError(e);
    }
  };
  const remove = async () => {
    try {
      await call(path, { method: "DELETE" });
      navigate("subscriptions");
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="sub-title">
      <p>
        <a href={href("subscriptions")}>← Subscriptions</a>
      </p>
      <header class="row">
        <h1 id="sub-title">
          Subscription <code>{id}</code>
        </h1>
        <a href={href("dead-letters", { subscription: id })}>Dead letters</a>
        {session.admin && (
          <ConfirmButton label="Delete subscription" confirm={`Really delete ${id}`} onConfirm={remove} />
        )}
      </header>
      <ErrorBox error={error} />
      {stats && (
        <dl class="stats" aria-label="Statistics">
          <Stat name="Lag (events)" value={`${formatNumber(stats.lag)}${stats.lagExact ? "" : "+"}`} />
          <Stat name="Lag (age)" value={formatDuration(stats.lagSeconds)} />
          <Stat name="In flight" value={formatNumber(stats.inFlight)} />
          <Stat name="Rate (/s)" value={formatNumber(stats.deliveryRate, 1)} />
          <Stat name="Checkpoint" value={formatNumber(stats.checkpoint)} />
          <Stat name="Head" value={formatNumber(stats.head)} />
          <Stat name="Delivered" value={formatNumber(stats.delivered)} />
          <Stat name="Retried" value={formatNumber(stats.retried)} />
          <Stat name="Dead-lettered" value={formatNumber(stats.deadLettered)} />
          <Stat name="State" value={stats.stalled ? "stalled" : "ok"} />
        </dl>
      )}
      {session.admin && <ResetForm path={path} />}
      <h2>Recent delivery attempts</h2>
      {deliveries === "missing" && <Notice>This server keeps no delivery ledger (GET …/deliveries).</Notice>}
      {deliveries !== undefined && deliveries !== "missing" && (
        <table class="grid" aria-label="Delivery attempts">
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Position</th>
              <th scope="col">Event</th>
              <th scope="col">Attempt</th>
              <th scope="col">Outcome</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.deliveries.map((d) => (
              <tr key={`${d.position}-${d.attempt}-${d.at}`}>
                <td>{d.at}</td>
                <td class="num">{d.position}</td>
                <td>{d.eventId}</td>
                <td class="num">{d.attempt}</td>
                <td class={d.outcome === "acked" ? "" : "bad"}>{d.outcome}</td>
                <td class="num">{d.status ?? ""}</td>
                <td class="num">{d.latencyMs !== undefined ? `${d.latencyMs.toFixed(1)} ms` : ""}</td>
                <td>{d.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sub && session.admin && (
        <form class="panel" onSubmit={save} aria-label="Edit subscription">
          <label class="block">
            Definition (JSON, as PUT takes it)
            <textarea
              name="definition"
              rows={14}
              value={json}
              onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <button type="submit">Save</button>
          {saved && <span role="status">Saved.</span>}
          <FieldErrors error={saveError} />
        </form>
      )}
    </section>
  );
}

function Stat({ name, value }: { name: string; value: string }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function ResetForm({ path }: { path: string }) {
  const [target, setTarget] = useState("beginning");
  const [value, setValue] = useState("");
  const [preview, setPreview] = useState<ResetResponse | undefined>(undefined);
  const [done, setDone] = useState<ResetResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const body = (dryRun: boolean) =>
    target === "position"
      ? { position: Number(value), dryRun }
      : target === "time"
        ? { time: value.trim(), dryRun }
        : { to: target, dryRun };
  const run = async (dryRun: boolean) => {
    setError(undefined);
    try {
      const answer = await call<ResetResponse>(`${path}/reset`, { method: "POST", body: body(dryRun) });
      if (dryRun) setPreview(answer);
      else {
        setDone(answer);
        setPreview(undefined);
      }
    } catch (e) {
      setError(e);
    }
  };
  const changed = () => {
    setPreview(undefined);
    setDone(undefined);
  };
  return (
    <form class="panel" aria-label="Reset subscription" onSubmit={(e) => e.preventDefault()}>
      <h2>Reset</h2>
      <label>
        Move to
        <select
          name="target"
          value={target}
          onChange={(e) => {
            setTarget((e.target as HTMLSelectElement).value);
            changed();
          }}
        >
          <option value="beginning">the beginning</option>
          <option value="now">now (skip everything)</option>
          <option value="position">a position</option>
          <option value="time">a time</option>
        </select>
      </label>
      {(target === "position" || target === "time") && (
        <label>
          {target === "position" ? "Position" : "Time (RFC 3339)"}
          <input
            name="value"
            placeholder={target === "time" ? "2026-12-01T19:00:00Z" : ""}
            value={value}
            onInput={(e) => {
              setValue((e.target as HTMLInputElement).value);
              changed();
            }}
          />
        </label>
      )}
      <button type="button" onClick={() => run(true)}>
        Preview reset
      </button>
      {preview && (
        <>
          <span role="status">
            Would redeliver {upTo(preview)}
            {formatNumber(preview.redeliver)} events (checkpoint {preview.checkpoint}).
          </span>
          <ConfirmButton
            label="Reset"
            confirm={`Reset and redeliver ${preview.redeliver}`}
            onConfirm={() => run(false)}
          />
        </>
      )}
      {done && (
        <span role="status">
          Reset: checkpoint {done.checkpoint}, {upTo(done)}
          {formatNumber(done.redeliver)} events to deliver.
        </span>
      )}
      <ErrorBox error={error} />
    </form>
  );
}

/** A count the server cut short (`redeliverExact: false`) is an upper bound. */
function upTo(answer: ResetResponse): string {
  return (answer as ResetResponse & { redeliverExact?: boolean }).redeliverExact === false ? "at most " : "";
}
