// Loads the CESQL TCK (the CloudEvents project's conformance cases) from <repo>/conformance/cesql at
// run time, following conformance/README.md section 1.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { conformanceDir } from "../helpers/paths.js";

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
