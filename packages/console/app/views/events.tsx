// The global log or one stream: paged on the server (one page rendered at a time), a CESQL filter whose
// parse error is shown under the character it points at, a live tail that polls after the last position.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, query } from "../lib/api.js";
import { filterErrorOffset, formatTime } from "../lib/format.js";
import { navigate } from "../lib/route.js";
import { ErrorBox, onListKeys } from "../lib/ui.js";
import type { LogEntry, ReadEventsResponse, StatsSeriesResponse } from "../lib/wire.js";
import { EventDetail } from "./event-detail.js";

const PAGE = 50;
const TAIL_MS = 1000;

interface Page {
  readonly entries: readonly LogEntry[];
  readonly next: number;
}

export function EventsView({ params }: { params: URLSearchParams }) {
  const stream = params.get("stream") ?? "";
  const filter = params.get("filter") ?? "";
  const from = Number(params.get("after") ?? params.get("from") ?? (stream ? 0 : 0));
  const direction = params.get("direction") === "backwards" ? "backwards" : "forwards";
  const [page, setPage] = useState<Page | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [draft, setDraft] = useState(filter);
  const [streamDraft, setStreamDraft] = useState(stream);
  const [selected, setSelected] = useState<LogEntry | undefined>(undefined);
  const [tail, setTail] = useState(false);
  const [history, setHistory] = useState<number[]>([]);
  const tailNext = useRef(0);

  useEffect(() => setDraft(filter), [filter]);
  useEffect(() => setStreamDraft(stream), [stream]);

  useEffect(() => {
    if (tail) return;
    const controller = new AbortController();
    setError(undefined);
    const path = stream
      ? `/streams/${encodeURIComponent(stream)}${query({ from: direction === "backwards" && !params.has("from") ? undefined : from, limit: PAGE, direction })}`
      : `/events${query({ after: from, limit: PAGE, filter })}`;
    call<ReadEventsResponse>(path, { signal: controller.signal })
      .then((answer) => setPage({ entries: answer.events, next: answer.next }))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) {
          setPage(undefined);
          setError(e);
        }
      });
    return () => controller.abort();
  }, [stream, filter, from, direction, tail]);

  // Live tail: start at the head (or the current page's end), poll for what comes after.
  useEffect(() => {
    if (!tail) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const answer = await call<ReadEventsResponse>(
          `/events${query({ after: tailNext.current, limit: 1000, filter })}`,
        );
        if (stopped) return;
        tailNext.current = answer.next;
        if (answer.events.length > 0) {
          setPage((old) => ({
            entries: [...(old?.entries ?? []), ...answer.events].slice(-PAGE),
            next: answer.next,
          }));
        }
        setError(undefined);
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(poll, TAIL_MS);
    };
    (async () => {
      tailNext.current = page?.next ?? 0;
      try {
        const series = await call<StatsSeriesResponse>("/stats/series?minutes=1");
        const head = series.server.head;
        if (head !== undefined && head > tailNext.current) {
          tailNext.current = Math.max(0, head - PAGE);
          setPage({ entries: [], next: tailNext.current });
        }
      } catch {
        // A server without the series endpoint: tail from the page shown.
      }
      if (!stopped) await poll();
    })();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [tail]);

  const go = (changes: Record<string, string | number | undefined>) => {
    setSelected(undefined);
    const next = {
      stream: stream || undefined,
      filter: filter || undefined,
      direction: stream && direction === "backwards" ? "backwards" : undefined,
      ...changes,
    };
    navigate("events", next);
  };
  const applyFilter = (event: Event) => {
    event.preventDefault();
    setHistory([]);
    go({ filter: draft.trim() || undefined, after: undefined, stream: streamDraft.trim() || undefined });
  };
  const offset =
    error instanceof ApiError && error.problem?.code === "filter-invalid"
      ? filterErrorOffset(error.problem)
      : undefined;
  const filterError = error instanceof ApiError && error.problem?.code === "filter-invalid";
  const entries = page?.entries ?? [];
  const canNext =
    page !== undefined && (stream ? page.next >= 0 && entries.length === PAGE : page.next > from);

  return (
    <div class="split">
      <section class="list" aria-labelledby="events-title">
        <h1 id="events-title">{stream ? `Stream ${stream}` : "Events"}</h1>
        <form class="toolbar" onSubmit={applyFilter} aria-label="Filter events">
          <label>
            Stream
            <input
              name="stream"
              value={streamDraft}
              placeholder="all (global log)"
              onInput={(e) => setStreamDraft((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="grow">
            CESQL filter
            <input
              name="filter"
              value={draft}
              placeholder="type LIKE 'com.example.%' AND subject = 'order/1'"
              aria-invalid={filterError ? "true" : "false"}
              aria-describedby={filterError ? "filter-error" : undefined}
              disabled={stream !== "" && streamDraft === stream}
              onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Apply</button>
          <label class="check">
            <input
              type="checkbox"
              checked={tail}
              disabled={stream !== ""}
              onChange={(e) => setTail((e.target as HTMLInputElement).checked)}
            />
            Live tail
          </label>
        </form>
        {filterError ? (
          <div id="filter-error" class="error" role="alert">
            <p>{(error as ApiError).message}</p>
            {offset !== undefined && (
              <pre class="caret">{`${filter}\n${" ".repeat(Math.min(offset, filter.length))}^`}</pre>
            )}
          </div>
        ) : (
          <ErrorBox error={error} />
        )}
        {stream && (
          <p class="muted">
            Reading one stream{" "}
            <button
              type="button"
              onClick={() =>
                go({
                  direction: direction === "backwards" ? undefined : "backwards",
                  from: undefined,
                  after: undefined,
                })
              }
            >
              {direction === "backwards" ? "Oldest first" : "Newest first"}
            </button>{" "}
            (filters apply to the global log).
          </p>
        )}
        <div>
          <table class="grid" aria-label={stream ? `Events of stream ${stream}` : "Events"}>
            <thead>
              <tr>
                <th scope="col">Position</th>
                <th scope="col">Recorded</th>
                <th scope="col">Stream</th>
                <th scope="col">Ver.</th>
                <th scope="col">Type</th>
                <th scope="col">Id</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.position} class={selected?.position === entry.position ? "selected" : ""}>
                  <td class="num">{entry.position}</td>
                  <td>{formatTime(entry.recordedAt)}</td>
                  <td>{entry.stream}</td>
                  <td class="num">{entry.version}</td>
                  <td>{entry.event.type}</td>
                  <td>
                    <button
                      type="button"
                      class="row-open link"
                      onKeyDown={onListKeys}
                      aria-label={`Open event ${entry.event.id} at position ${entry.position}`}
                      onClick={() => setSelected(entry)}
                    >
                      {entry.event.id}
                    </button>
                  </td>
                  <td>{entry.event.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {page !== undefined && entries.length === 0 && <p class="muted">No events on this page.</p>}
        {!tail && (
          <nav class="pager" aria-label="Pages">
            <button
              type="button"
              disabled={history.length === 0}
              onClick={() => {
                const back = history[history.length - 1] ?? 0;
                setHistory(history.slice(0, -1));
                go(stream ? { from: back } : { after: back });
              }}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!canNext}
              onClick={() => {
                setHistory([...history, from]);
                go(stream ? { from: page?.next } : { after: page?.next });
              }}
            >
              Next page
            </button>
            <span class="muted">
              {stream ? `from version ${from}` : `after position ${from}`}
              {page &&
                !stream &&
                filter &&
                page.next > from &&
                entries.length < PAGE &&
                ` (scanned to ${page.next})`}
            </span>
          </nav>
        )}
      </section>
      {selected && <EventDetail entry={selected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
