// Problem answers of event sources: every one carries a code of the one catalog (@herald/protocol).
import { PROBLEMS, type ProblemCode, type ProblemDetails, problemType } from "@herald/protocol";

export function problemBody(
  code: ProblemCode,
  detail: string,
  extra: Readonly<Record<string, unknown>> = {},
): ProblemDetails {
  const row = PROBLEMS[code];
  return { type: problemType(code), title: row.title, status: row.status, code, detail, ...extra };
}

/** A refusal a source answers with a catalog problem (thrown inside the source's pipeline). */
export class SourceProblem extends Error {
  override readonly name = "SourceProblem";
  readonly problem: ProblemDetails;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: ProblemCode,
    detail: string,
    extra: Readonly<Record<string, unknown>> = {},
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.problem = problemBody(code, detail, extra);
    this.headers = headers;
  }
}
