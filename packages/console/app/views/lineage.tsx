// The causes and effects of one event (through causationid), as a tree with times, and its correlation.
import { useEffect, useState } from "preact/hooks";
import { call, isMissingRoute, query } from "../lib/api.js";
import { formatTime } from "../lib/format.js";
import { href, navigate } from "../lib/route.js";
import { ErrorBox, Notice } from "../lib/ui.js";
import type { LineageEntry, LineageResponse, LogEntry, ReadEventsResponse } from "../lib/wire.js";

export function LineageView({ params }: { params: URLSearchParams }) {
  const position = params.get("position") ?? "";
  const source = params.get("source") ?? "";
  const id = params.get("id") ?? "";
  const [answer, setAnswer] = useState<LineageResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [missing, setMissing] = useState(false);
  const [draft, setDraft] = useState({ position, source, id });

  useEffect(() => {
    setDraft({ position, source, id });
    setAnswer(undefined);
    setError(undefined);
    if (!position && !(source && id)) return;
    const controller = new AbortController();
    const q = position ? { position } : { source, id };
    call<LineageResponse>(`/events/lineage${query(q)}`, { signal: controller.signal })
      .then(setAnswer)
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        if (isMissingRoute(e)) setMissing(true);
        else setError(e);
      });
    return () => controller.abort();
  }, [position, source, id]);

  const submit = (event: Event) => {
    event.preventDefault();
    if (draft.position.trim()) navigate("lineage", { position: draft.position.trim() });
    else navigate("lineage", { source: draft.source.trim(), id: draft.id.trim() });
  };

  return (
    <section aria-labelledby="lineage-title">
      <h1 id="lineage-title">Lineage</h1>
      <form class="toolbar" onSubmit={submit} aria-label="Find an event">
        <label>
          Position
          <input
            name="position"
            inputMode="numeric"
            value={draft.position}
            onInput={(e) => setDraft({ ...draft, position: (e.target as HTMLInputElement).value })}
          />
        </label>
        <span class="muted">or</span>
        <label>
          Source
          <input
            name="source"
            value={draft.source}
            onInput={(e) => setDraft({ ...draft, source: (e.target as HTMLInputElement).value })}
          />
        </label>
        <label>
          Id
          <input
            name="id"
            value={draft.id}
            onInput={(e) => setDraft({ ...draft, id: (e.target as HTMLInputElement).value })}
          />
        </label>
        <button type="submit">Show lineage</button>
      </form>
      {missing && <Notice>This server has no lineage endpoint (GET /events/lineage).</Notice>}
      <ErrorBox error={error} />
      {answer && <LineageTree key={answer.event.position} answer={answer} />}
    </section>
  );
}

function LineageTree({ answer }: { answer: LineageResponse }) {
  const [more, setMore] = useState<{ events: LogEntry[]; next: number; done: boolean }>({
    events: [],
    next: answer.correlation?.next ?? 0,
    done: !answer.correlation?.more,
  });
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const loadMore = async () => {
    const id = answer.correlation?.id;
    if (id === undefined) return;
    try {
      const page = await call<ReadEventsResponse>(
        `/correlations/${encodeURIComponent(id)}${query({ after: more.next, limit: 200 })}`,
      );
      setMore({
        events: [...more.events, ...page.events],
        next: page.next,
        done: page.events.length === 0 || page.next === more.next,
      });
    } catch (e) {
      setMoreError(e);
    }
  };
  const chain = [...answer.causes].reverse();
  const root = chain[0] ?? answer.event;
  const t0 = root.recordedAt ?? 0;
  const children = new Map<number, LineageEntry[]>();
  for (const effect of answer.effects) {
    const parent = effect.causedBy ?? answer.event.position;
    const list = children.get(parent) ?? [];
    list.push(effect);
    children.set(parent, list);
  }
  const renderEffects = (position: number, level: number): preact.JSX.Element | null => {
    const list = children.get(position);
    if (!list || list.length === 0) return null;
    return (
      <ul>
        {list.map((effect) => (
          <li key={effect.position} data-level={level}>
            <Node entry={effect} t0={t0} />
            {renderEffects(effect.position, level + 1)}
          </li>
        ))}
      </ul>
    );
  };
  // Causes from the root down to the event, then the effects below the event.
  const nest = (index: number, level: number): preact.JSX.Element => {
    const cause = chain[index];
    if (cause === undefined) {
      return (
        <li aria-current="true" data-level={level}>
          <Node entry={answer.event} t0={t0} current />
          {renderEffects(answer.event.position, level + 1)}
        </li>
      );
    }
    return (
      <li key={cause.position} data-level={level}>
        <Node entry={cause} t0={t0} />
        <ul>{nest(index + 1, level + 1)}</ul>
      </li>
    );
  };
  return (
    <>
      {answer.missing.length > 0 && (
        <Notice>
          Causes not found:{" "}
          {answer.missing.map((m) => `${m.id} (needed by position ${m.neededBy})`).join(", ")}
        </Notice>
      )}
      {answer.truncated && <Notice>The effects were cut at the depth or count limit.</Notice>}
      <ul class="tree" aria-label="Causes and effects">
        {nest(0, 1)}
      </ul>
      {answer.correlation && (
        <section aria-labelledby="correlation-title">
          <h2 id="correlation-title">
            Correlation <code>{answer.correlation.id}</code> ({answer.correlation.events.length}
            {answer.correlation.more ? "+" : ""} events)
          </h2>
          <table class="grid" aria-label="Events of the correlation">
            <thead>
              <tr>
                <th scope="col">Position</th>
                <th scope="col">Recorded</th>
                <th scope="col">Type</th>
                <th scope="col">Id</th>
                <th scope="col">Caused by</th>
              </tr>
            </thead>
            <tbody>
              {[...answer.correlation.events, ...more.events].map((entry) => (
                <tr key={entry.position}>
                  <td class="num">{entry.position}</td>
                  <td>{formatTime(entry.recordedAt)}</td>
                  <td>{entry.event.type}</td>
                  <td>
                    <a href={href("lineage", { position: entry.position })}>{entry.event.id}</a>
                  </td>
                  <td>{String((entry.event as unknown as Record<string, unknown>).causationid ?? "")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!more.done && (
            <button type="button" onClick={loadMore}>
              More events of this correlation
            </button>
          )}
          <ErrorBox error={moreError} />
        </section>
      )}
    </>
  );
}

function Node({ entry, t0, current }: { entry: LogEntry; t0: number; current?: boolean }) {
  const delta = entry.recordedAt !== undefined ? entry.recordedAt - t0 : undefined;
  return (
    <span class={`node${current ? " current" : ""}`}>
      <a
        href={href("lineage", { position: entry.position })}
        aria-label={`Lineage of ${entry.event.type} ${entry.event.id}`}
      >
        {entry.event.type}
      </a>{" "}
      <code>{entry.event.id}</code> <span class="muted">#{entry.position}</span>{" "}
      <time class="muted">{formatTime(entry.recordedAt)}</time>
      {delta !== undefined && delta > 0 && <span class="muted"> (+{delta} ms)</span>}
    </span>
  );
}
