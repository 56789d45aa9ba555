// Dead letters of one subscription: the list (reason, attempts, last error), a filter, then redrive by
// range and filter: a dry run first tells how many would go, and only then can they be redriven.
import { useEffect, useState } from "preact/hooks";
import { call, query } from "../lib/api.js";
import { formatNumber } from "../lib/format.js";
import { href, navigate } from "../lib/route.js";
import type { Session } from "../lib/session.js";
import { ErrorBox, Notice } from "../lib/ui.js";
import type {
  DeadLetterRecord,
  DeadLettersResponse,
  RedriveResponse,
  SubscriptionResource,
} from "../lib/wire.js";

const PAGE = 50;

export function DeadLettersView({ params, session }: { params: URLSearchParams; session: Session }) {
  const subscription = params.get("subscription") ?? "";
  const reason = params.get("reason") ?? "";
  const filter = params.get("filter") ?? "";
  const after = Number(params.get("after") ?? -1);
  const [subs, setSubs] = useState<readonly SubscriptionResource[]>([]);
  const [page, setPage] = useState<DeadLettersResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [draft, setDraft] = useState({ reason, filter });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!session.admin) return;
    call<SubscriptionResource[]>("/subscriptions")
      .then((list) => {
        setSubs(list);
        const first = list[0];
        if (!subscription && first) navigate("dead-letters", { subscription: first.id });
      })
      .catch(setError);
  }, []);
  useEffect(() => setDraft({ reason, filter }), [reason, filter]);
  useEffect(() => {
    if (!subscription || !session.admin) return;
    setError(undefined);
    call<DeadLettersResponse>(
      `/subscriptions/${encodeURIComponent(subscription)}/dead-letters${query({ after: after >= 0 ? after : undefined, limit: PAGE, reason, filter })}`,
    )
      .then(setPage)
      .catch((e: unknown) => {
        setPage(undefined);
        setError(e);
      });
  }, [subscription, reason, filter, after, tick]);

  if (!session.admin) return <Notice>Dead letters need an API key with the admin scope.</Notice>;
  // A server without the reason/filter parameters answers every dead letter: narrow the page here too.
  const shown = (page?.deadLetters ?? []).filter((d) => !reason || d.reason === reason);
  return (
    <section aria-labelledby="dl-title">
      <h1 id="dl-title">Dead letters</h1>
      <form
        class="toolbar"
        aria-label="Filter dead letters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate("dead-letters", {
            subscription,
            reason: draft.reason || undefined,
            filter: draft.filter || undefined,
          });
        }}
      >
        <label>
          Subscription
          <select
            name="subscription"
            value={subscription}
            onChange={(e) =>
              navigate("dead-letters", { subscription: (e.target as HTMLSelectElement).value })
            }
          >
            {subs.map((s) => (
              <option key={s.id} value={s.id}>
                {s.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason
          <select
            name="reason"
            value={draft.reason}
            onChange={(e) => setDraft({ ...draft, reason: (e.target as HTMLSelectElement).value })}
          >
            <option value="">any</option>
            <option value="max-deliveries">max-deliveries</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
        <label class="grow">
          CESQL filter (original event)
          <input
            name="filter"
            value={draft.filter}
            onInput={(e) => setDraft({ ...draft, filter: (e.target as HTMLInputElement).value })}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={error} />
      <table class="grid" aria-label="Dead letters">
        <thead>
          <tr>
            <th scope="col">Position</th>
            <th scope="col">Event</th>
            <th scope="col">Type</th>
            <th scope="col">Reason</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last status</th>
            <th scope="col">Last error</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Redriven</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((d: DeadLetterRecord) => (
            <tr key={d.deadLetterPosition}>
              <td class="num">
                <a href={href("lineage", { position: d.position })}>{d.position}</a>
              </td>
              <td>{d.event.id}</td>
              <td>{d.event.type}</td>
              <td>{d.reason}</td>
              <td class="num">{d.attempts}</td>
              <td class="num">{d.lastStatus ?? ""}</td>
              <td>{d.lastError}</td>
              <td>{d.lastAttemptAt}</td>
              <td>{d.redriven ? "yes" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && shown.length === 0 && <p class="muted">No dead letters on this page.</p>}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={after < 0}
          onClick={() => navigate("dead-letters", { subscription, reason, filter })}
        >
          First page
        </button>
        <button
          type="button"
          disabled={!page || page.deadLetters.length === 0 || page.next === after}
          onClick={() => navigate("dead-letters", { subscription, reason, filter, after: page?.next })}
        >
          Next page
        </button>
      </nav>
      {subscription && <RedriveForm subscription={subscription} onRedriven={() => setTick(tick + 1)} />}
    </section>
  );
}

function RedriveForm({ subscription, onRedriven }: { subscription: string; onRedriven: () => void }) {
  const [form, setForm] = useState({ from: "", to: "", sql: "" });
  const [dry, setDry] = useState<RedriveResponse | undefined>(undefined);
  const [done, setDone] = useState<RedriveResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const set = (name: keyof typeof form) => (e: Event) => {
    setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
    setDry(undefined);
  };
  const body = (dryRun: boolean) => ({
    ...(form.from.trim() ? { from: Number(form.from) } : {}),
    ...(form.to.trim() ? { to: Number(form.to) } : {}),
    ...(form.sql.trim() ? { filters: [{ sql: form.sql.trim() }] } : {}),
    dryRun,
  });
  const run = async (dryRun: boolean) => {
    setError(undefined);
    try {
      const answer = await call<RedriveResponse>(
        `/subscriptions/${encodeURIComponent(subscription)}/dead-letters/redrive`,
        { method: "POST", body: body(dryRun) },
      );
      if (dryRun) {
        setDry(answer);
        setDone(undefined);
      } else {
        setDone(answer);
        setDry(undefined);
        onRedriven();
      }
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form class="panel" aria-label="Redrive dead letters" onSubmit={(e) => e.preventDefault()}>
      <h2>Redrive</h2>
      <label>
        From position <input name="from" inputMode="numeric" value={form.from} onInput={set("from")} />
      </label>
      <label>
        To position <input name="to" inputMode="numeric" value={form.to} onInput={set("to")} />
      </label>
      <label class="grow">
        CESQL filter <input name="sql" value={form.sql} onInput={set("sql")} />
      </label>
      <button type="button" onClick={() => run(true)}>
        Dry run
      </button>
      {dry && <span role="status">{formatNumber(dry.count)} dead letters would be redriven.</span>}
      <button type="button" class="danger" disabled={!dry || dry.count === 0} onClick={() => run(false)}>
        {dry ? `Redrive ${dry.count}` : "Redrive (dry run first)"}
      </button>
      {done && (
        <span role="status">Redriven: {formatNumber(done.count)}. The live checkpoint did not move.</span>
      )}
      <ErrorBox error={error} />
    </form>
  );
}
