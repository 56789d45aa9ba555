// The CESQL filter of `GET /events`, compiled once per request into a log predicate.
import { CesqlError, compileCesql } from "@herald/cloudevents";
import type { CloudEvent } from "@herald/cloudevents";
import { problemOf } from "./errors.js";

/** Compiles a CESQL expression; 400 naming the `filter` parameter when it does not parse. */
export function compileFilter(expression: string): (event: CloudEvent) => boolean {
  try {
    const compiled = compileCesql(expression);
    return (event) => compiled.matches(event);
  } catch (error) {
    if (error instanceof CesqlError) throw problemOf(error);
    throw error;
  }
}
