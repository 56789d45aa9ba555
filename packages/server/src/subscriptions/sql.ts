// The `sql` filter dialect: CESQL v1 via @herald/cloudevents' compileCesql.
import { type CloudEvent, compileCesql } from "@herald/cloudevents";

/** Compiles an expression; `error` says why it is not valid CESQL. */
export function compileSql(expression: string): {
  matcher?: (event: CloudEvent) => boolean;
  error?: string;
} {
  try {
    const compiled = compileCesql(expression);
    return { matcher: (event) => compiled.matches(event) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
