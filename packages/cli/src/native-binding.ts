// Recognises "better-sqlite3's compiled module cannot load" among start errors and turns it into one
// actionable message: the raw error lists every path the loader tried and says nothing about the fix.

/** The message for a native-binding load failure of better-sqlite3, or undefined for any other error. */
export function nativeBindingProblem(error: unknown): string | undefined {
  const cause = findBindingError(error);
  if (cause === undefined) return undefined;
  // The loader's first line says what failed; the list of paths it tried after "Tried:" is noise here.
  const firstLine = (cause.message.split("\n", 1)[0] ?? "").replace(/\.?\s*Tried:\s*$/, "").trim();
  return [
    `the SQLite storage could not load better-sqlite3's native module (${firstLine})`,
    "  Rebuild it where herald is installed: npm rebuild better-sqlite3 (global install: npm rebuild -g better-sqlite3)",
    "  A build from source needs python3, make and g++ (Debian/Ubuntu: apt-get install python3 make g++).",
    "  Or run without SQLite: herald serve --storage memory (events are kept in memory, lost on exit).",
  ].join("\n");
}

function findBindingError(error: unknown): Error | undefined {
  // Walk the cause chain: a wrapper may add context around the loader's error.
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    if (isBindingError(current)) return current;
    current = current.cause;
  }
  return undefined;
}

function isBindingError(error: Error): boolean {
  if (!/better[-_]sqlite3/.test(error.message)) return false;
  // `bindings` found no compiled file; dlopen found one it cannot load (other Node ABI, other
  // architecture, truncated file).
  const code = (error as NodeJS.ErrnoException).code;
  return error.message.startsWith("Could not locate the bindings file") || code === "ERR_DLOPEN_FAILED";
}
