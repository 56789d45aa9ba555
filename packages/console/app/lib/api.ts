// The page's only way to the server: same origin, the API key from sessionStorage as the bearer header.
import type { ProblemDetails } from "./wire.js";

const KEY_STORAGE = "herald.console.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** An answer that was not 2xx: the status and the problem the server sent (when it sent one). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails | undefined;
  constructor(status: number, problem: ProblemDetails | undefined, fallback: string) {
    super(problem?.detail ?? fallback);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

export interface CallOptions {
  readonly method?: "GET" | "POST" | "PUT" | "DELETE";
  readonly body?: unknown;
  readonly key?: string | null;
  readonly signal?: AbortSignal;
}

let onUnauthorized: (() => void) | undefined;
/** Called when the server answers 401 to a call made with the stored key (it was revoked or is wrong). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const key = options.key === undefined ? storedKey() : options.key;
  const headers: Record<string, string> = { accept: "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const init: RequestInit = { method: options.method ?? "GET", headers, credentials: "omit" };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  if (!res.ok) {
    let problem: ProblemDetails | undefined;
    try {
      problem = JSON.parse(text) as ProblemDetails;
    } catch {
      problem = undefined;
    }
    if (res.status === 401 && options.key === undefined) onUnauthorized?.();
    throw new ApiError(res.status, problem, `${res.status} ${res.statusText}`);
  }
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** A query string from the defined values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** Whether the server has the endpoint (a 404 from the router means it does not, on this version). */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.problem?.code === "route-not-found";
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const code = error.problem?.code ? ` (${error.problem.code})` : "";
    return `${error.status}${code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
