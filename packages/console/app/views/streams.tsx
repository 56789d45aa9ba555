// Streams in name order with their versions, paged on the server.
import { useEffect, useState } from "preact/hooks";
import { call, query } from "../lib/api.js";
import { href, navigate } from "../lib/route.js";
import type { Session } from "../lib/session.js";
import { ConfirmButton, ErrorBox, onListKeys } from "../lib/ui.js";
import type { ListStreamsResponse } from "../lib/wire.js";

const PAGE = 50;

export function StreamsView({ params, session }: { params: URLSearchParams; session: Session }) {
  const prefix = params.get("prefix") ?? "";
  const after = params.get("after") ?? "";
  const system = params.get("system") === "true";
  const [page, setPage] = useState<ListStreamsResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [draft, setDraft] = useState(prefix);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    setError(undefined);
    call<ListStreamsResponse>(`/streams${query({ prefix, after, limit: PAGE, system: system || undefined })}`)
      .then(setPage)
      .catch((e: unknown) => {
        setPage(undefined);
        setError(e);
      });
  }, [prefix, after, system, tick]);

  const remove = async (stream: string) => {
    try {
      await call(`/streams/${encodeURIComponent(stream)}`, { method: "DELETE" });
      setTick(tick + 1);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="streams-title">
      <h1 id="streams-title">Streams</h1>
      <form
        class="toolbar"
        aria-label="Filter streams"
        onSubmit={(e) => {
          e.preventDefault();
          navigate("streams", { prefix: draft || undefined, system: system ? "true" : undefined });
        }}
      >
        <label>
          Name prefix{" "}
          <input
            name="prefix"
            value={draft}
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={system}
            onChange={(e) =>
              navigate("streams", {
                prefix: prefix || undefined,
                system: (e.target as HTMLInputElement).checked ? "true" : undefined,
              })
            }
          />
          Herald's $ streams
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={error} />
      <div>
        <table class="grid" aria-label="Streams">
          <thead>
            <tr>
              <th scope="col">Stream</th>
              <th scope="col">Version</th>
              <th scope="col">Events</th>
              {session.admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(page?.streams ?? []).map((s) => (
              <tr key={s.stream}>
                <td>
                  <button
                    type="button"
                    class="row-open link"
                    onKeyDown={onListKeys}
                    aria-label={`Open stream ${s.stream}`}
                    onClick={() => navigate("events", { stream: s.stream })}
                  >
                    {s.stream}
                  </button>
                </td>
                <td class="num">{s.version}</td>
                <td class="num">{s.version + 1}</td>
                {session.admin && (
                  <td>
                    {!s.stream.startsWith("$") && (
                      <ConfirmButton
                        label={`Delete ${s.stream}`}
                        confirm={`Really delete ${s.stream}`}
                        onConfirm={() => remove(s.stream)}
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <a href={href("streams", { prefix: prefix || undefined, system: system ? "true" : undefined })}>
          First page
        </a>
        {page?.next && (
          <a
            href={href("streams", {
              prefix: prefix || undefined,
              after: page.next,
              system: system ? "true" : undefined,
            })}
          >
            Next page
          </a>
        )}
      </nav>
    </section>
  );
}
