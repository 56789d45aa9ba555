// @herald/eventsourcing/testing: given/when/then specifications for deciders and projections.
export {
  type DeciderSpecification,
  type DeciderThen,
  type DeciderWhen,
  deciderSpec,
  type ProjectionHarness,
  type ProjectionThen,
  projectionSpec,
} from "./specification.js";
export { type StreamedEvent, sqliteProjectionHarness } from "./harness.js";
