// A small reader for the conformance .feature files: scenarios (outlines expanded), steps, doc strings, tables.

export interface Step {
  readonly text: string;
  readonly docString?: string;
  readonly table?: string[][];
}

export interface Scenario {
  readonly name: string;
  readonly steps: Step[];
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split("|")
    .map((c) => c.trim());
}

interface RawScenario {
  name: string;
  steps: { text: string; docString?: string; table?: string[][] }[];
  examples?: string[][];
}

/** Parses a feature file; Scenario Outlines are expanded once per Examples row. */
export function parseFeature(text: string): Scenario[] {
  const lines = text.split(/\r?\n/);
  const raw: RawScenario[] = [];
  let current: RawScenario | undefined;
  let inExamples = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (/^Scenario( Outline)?:/.test(trimmed)) {
      current = { name: trimmed.replace(/^Scenario( Outline)?:\s*/, ""), steps: [] };
      raw.push(current);
      inExamples = false;
    } else if (trimmed.startsWith("Examples:")) {
      inExamples = true;
      if (current !== undefined) current.examples = [];
    } else if (/^(Given|When|Then|And|But) /.test(trimmed)) {
      inExamples = false;
      current?.steps.push({ text: trimmed.replace(/^(Given|When|Then|And|But) /, "") });
    } else if (trimmed.startsWith('"""')) {
      const indent = line.indexOf('"""');
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.trim().startsWith('"""'); i++)
        body.push(lines[i]!.slice(indent));
      const step = current?.steps[current.steps.length - 1];
      if (step !== undefined) step.docString = body.join("\n");
    } else if (trimmed.startsWith("|") && current !== undefined) {
      if (inExamples) current.examples!.push(cells(line));
      else {
        const step = current.steps[current.steps.length - 1]!;
        step.table ??= [];
        step.table.push(cells(line));
      }
    }
  }
  const scenarios: Scenario[] = [];
  for (const s of raw) {
    if (s.examples === undefined || s.examples.length < 2) {
      scenarios.push({ name: s.name, steps: s.steps });
      continue;
    }
    const [header, ...rows] = s.examples;
    for (const row of rows) {
      const sub = (t: string) => header!.reduce((acc, key, k) => acc.split(`<${key}>`).join(row[k]!), t);
      scenarios.push({
        name: sub(s.name),
        steps: s.steps.map((st) => ({
          text: sub(st.text),
          ...(st.docString !== undefined ? { docString: sub(st.docString) } : {}),
          ...(st.table !== undefined ? { table: st.table.map((r) => r.map(sub)) } : {}),
        })),
      });
    }
  }
  return scenarios;
}

/** A table with a `key | value` header row as a record. */
export function keyValueTable(table: string[][] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of (table ?? []).slice(1)) out[row[0]!] = row[1]!;
  return out;
}

/** Splits a raw HTTP/1.1 request into its header map (names as written) and body. */
export function parseRawHttpRequest(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf("\n\n");
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? "" : raw.slice(split + 2);
  const headers: Record<string, string> = {};
  for (const line of head.split("\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}
