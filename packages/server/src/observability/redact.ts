// Credentials never reach the logs: query parameters that carry secrets are masked wherever a URL is
// logged, and the logger itself drops Authorization headers (see createLogger).

/** Query parameters whose values are secrets (compared case-insensitively, `-`/`_` ignored). */
const SECRET_PARAMS: ReadonlySet<string> = new Set([
  "accesstoken",
  "apikey",
  "key",
  "token",
  "secret",
  "password",
  "signature",
]);
export const REDACTED = "[REDACTED]";

/** The URL (absolute or a request target) with the values of secret query parameters masked. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return url;
  const hash = url.indexOf("#", q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  const masked = query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return isSecretParam(name) ? `${name}=${REDACTED}` : pair;
    })
    .join("&");
  return `${url.slice(0, q)}?${masked}${hash === -1 ? "" : url.slice(hash)}`;
}

function isSecretParam(raw: string): boolean {
  let name: string;
  try {
    name = decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    name = raw;
  }
  return SECRET_PARAMS.has(name.toLowerCase().replace(/[-_]/g, ""));
}

/** A database URL with its password masked (`postgres://herald:[REDACTED]@db/herald`). */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return redactUrl(url);
    // Built by hand: the URL setter would percent-encode the marker.
    const at = url.indexOf("@", url.indexOf("://") + 3);
    return redactUrl(`${parsed.protocol}//${parsed.username}:${REDACTED}${url.slice(at)}`);
  } catch {
    // Not parseable: mask whatever sits between "://user:" and "@".
    return url.replace(/(:\/\/[^:/@]*:)[^@]*@/, `$1${REDACTED}@`);
  }
}
