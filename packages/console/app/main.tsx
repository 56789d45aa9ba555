// The console: a login when the server wants an API key, then one view at a time by the URL's fragment.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { errorText, setUnauthorizedHandler, storedKey, storeKey } from "./lib/api.js";
import { href, useRoute } from "./lib/route.js";
import { probeSession, type Session } from "./lib/session.js";
import { DeadLettersView } from "./views/dead-letters.js";
import { EventsView } from "./views/events.js";
import { HealthView } from "./views/health.js";
import { LineageView } from "./views/lineage.js";
import { StreamsView } from "./views/streams.js";
import { SubscriptionDetail, SubscriptionsView } from "./views/subscriptions.js";

type State = { kind: "checking" } | { kind: "login"; error?: string } | { kind: "in"; session: Session };

function App() {
  const [state, setState] = useState<State>({ kind: "checking" });
  const check = async (key: string | null): Promise<void> => {
    try {
      const session = await probeSession(key);
      if (session === "unauthorized") {
        storeKey(null);
        setState({
          kind: "login",
          ...(key !== null ? { error: "The server did not accept this API key." } : {}),
        });
        return;
      }
      storeKey(key);
      setState({ kind: "in", session });
    } catch (error) {
      setState({ kind: "login", error: errorText(error) });
    }
  };
  useEffect(() => {
    setUnauthorizedHandler(() => {
      storeKey(null);
      setState({ kind: "login", error: "The server no longer accepts this API key." });
    });
    void check(storedKey());
  }, []);
  if (state.kind === "checking") return <p role="status">Connecting…</p>;
  if (state.kind === "login") return <Login error={state.error} onKey={(key) => check(key)} />;
  return (
    <Shell
      session={state.session}
      onSignOut={() => {
        storeKey(null);
        setState({ kind: "login" });
      }}
    />
  );
}

function Login({ error, onKey }: { error: string | undefined; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <main class="login">
      <h1>Herald console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) onKey(key.trim());
        }}
        aria-label="Sign in"
      >
        <label class="block">
          API key
          <input
            type="password"
            name="apiKey"
            autoComplete="off"
            required
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <p class="muted">
          Kept in this tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>. What the
          key's scopes allow is what the console shows.
        </p>
        <button type="submit">Sign in</button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const VIEWS = [
  { path: "events", label: "Events", admin: false },
  { path: "lineage", label: "Lineage", admin: false },
  { path: "streams", label: "Streams", admin: false },
  { path: "subscriptions", label: "Subscriptions", admin: true },
  { path: "dead-letters", label: "Dead letters", admin: true },
  { path: "health", label: "Health", admin: false },
] as const;

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const top = route.path.split("/")[0] ?? "events";
  const scopes = session.admin ? "admin" : session.consume ? "consume" : "no read scope";
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Herald</span>
        <nav aria-label="Views">
          {VIEWS.filter((v) => session.admin || !v.admin).map((v) => (
            <a key={v.path} href={href(v.path)} aria-current={top === v.path ? "page" : undefined}>
              {v.label}
            </a>
          ))}
        </nav>
        <span class="muted">
          {session.key === null ? "open server (no API keys)" : `key scope: ${scopes}`}
        </span>
        {session.key !== null && (
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <View path={route.path} params={route.params} session={session} />
      </main>
    </>
  );
}

function View({ path, params, session }: { path: string; params: URLSearchParams; session: Session }) {
  if (path.startsWith("subscriptions/")) {
    if (!session.admin) return <SubscriptionsView session={session} />;
    return <SubscriptionDetail id={path.slice("subscriptions/".length)} session={session} />;
  }
  switch (path) {
    case "lineage":
      return <LineageView params={params} />;
    case "streams":
      return <StreamsView params={params} session={session} />;
    case "subscriptions":
      return <SubscriptionsView session={session} />;
    case "dead-letters":
      return <DeadLettersView params={params} session={session} />;
    case "health":
      return <HealthView />;
    default:
      return <EventsView params={params} />;
  }
}

const root = document.getElementById("app");
if (root) render(<App />, root);
