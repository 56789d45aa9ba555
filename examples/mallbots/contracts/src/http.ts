// HTTP answers the services share: the problem body (RFC 9457, Herald's one catalog of codes) as a
// TypeBox schema for `output`, and the 404 of an id that names nothing.
import { problemBody } from "@herald/service";
import { type Static, Type } from "@sinclair/typebox";

/**
 * A problem answer (application/problem+json), as @herald/service and herald serve write them; other
 * members (`errors`, `requiredScope`…) are allowed.
 */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  detail: Type.String(),
});
export type Problem = Static<typeof Problem>;

/**
 * 404 for a path whose id names nothing (`GET /stores/nope`). The catalog's generic 404 is
 * `route-not-found` ("Not Found"): no resource at this path. Declare `404: Problem` in `output`.
 */
export function notFound(detail: string): { readonly status: 404; readonly body: Problem } {
  return { status: 404, body: problemBody("route-not-found", detail) };
}
