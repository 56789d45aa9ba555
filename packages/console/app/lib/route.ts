// Views are routed in the fragment (`#/events?stream=x`), so every console URL is the one page the server
// hosts at /console, and a reload keeps the view.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** `events`, `lineage`, `subscriptions`, `subscriptions/billing`, … (no leading slash). */
  readonly path: string;
  readonly params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const at = hash.indexOf("?");
  const path = decodeURIComponent(at >= 0 ? hash.slice(0, at) : hash) || "events";
  return { path, params: new URLSearchParams(at >= 0 ? hash.slice(at + 1) : "") };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** The fragment of a view: `href("events", {stream: "a"})` → `#/events?stream=a`. */
export function href(path: string, params: Record<string, string | number | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

export function navigate(path: string, params: Record<string, string | number | undefined> = {}): void {
  location.hash = href(path, params);
}
