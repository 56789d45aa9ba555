// Loads the CESQL TCK (the CloudEvents project's conformance cases) from the shared conformance
// directory at run time, following /work/shared/conformance/README.md section 1.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export interface TckCase {
  readonly file: string;
  readonly name: string;
  /** The expression exactly as written (read with the failsafe schema). */
  readonly expression: string;
  readonly result?: boolean | number | string;
  readonly error?: string;
  readonly event: Record<string, unknown>;
}

/** Only the REQUIRED attributes, so cases that expect missingAttribute for optional ones hold. */
const DEFAULT_EVENT = { specversion: "1.0", id: "tck-id", source: "tck-source", type: "tck.type" };

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".ci"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root (a directory with .ci/) above ${from}`);
  }
}

export function conformanceDir(): string {
  const explicit = process.env.HERALD_CONFORMANCE_DIR;
  if (explicit) return explicit;
  const root = process.env.HERALD_REPO_ROOT ?? findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, "..", "shared", "conformance");
}

interface RawCase {
  name: string;
  expression: string;
  result?: boolean | number | string;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

interface RawSuite {
  name: string;
  tests: RawCase[];
}

/**
 * Erratum from the conformance README: `NOT 10` predates v1's Integer -> Boolean cast; in v1 it is
 * `false` with no error (the sdk-go copy of the TCK carries the same fix).
 */
function applyErrata(file: string, testCase: TckCase): TckCase {
  if (file === "not_operator.yaml" && testCase.name === "Invalid int cast") {
    const { error: _stale, ...rest } = testCase;
    return { ...rest, result: false };
  }
  return testCase;
}

export function loadTck(): { suites: { file: string; name: string; cases: TckCase[] }[] } {
  const dir = join(conformanceDir(), "cesql");
  if (!existsSync(dir)) {
    throw new Error(`CESQL TCK not found at ${dir}; set HERALD_CONFORMANCE_DIR to the conformance directory`);
  }
  const files = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .sort();
  const suites = files.map((file) => {
    const text = readFileSync(join(dir, file), "utf8");
    // Typed (YAML 1.2 core schema) for results and events; failsafe so expressions stay text.
    const typed = YAML.parse(text) as RawSuite;
    const asText = YAML.parse(text, { schema: "failsafe" }) as RawSuite;
    const cases = typed.tests.map((raw, index) => {
      const expression = asText.tests[index]?.expression;
      if (typeof expression !== "string") throw new Error(`${file}: case ${index} has no expression`);
      const event = { ...(raw.event ?? DEFAULT_EVENT), ...(raw.eventOverrides ?? {}) };
      const testCase: TckCase = {
        file,
        name: raw.name,
        expression,
        event,
        ...(raw.result !== undefined ? { result: raw.result } : {}),
        ...(raw.error !== undefined ? { error: raw.error } : {}),
      };
      return applyErrata(file, testCase);
    });
    return { file, name: typed.name, cases };
  });
  return { suites };
}
