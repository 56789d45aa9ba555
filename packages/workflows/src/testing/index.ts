// @herald/workflows/testing: given/when/then for workflows, with a test clock.
export { TestClock } from "./clock.js";
export {
  type EmittedEvent,
  type WorkflowExpectation,
  WorkflowHarness,
  type WorkflowInput,
  type WorkflowSpecification,
  type WorkflowThen,
  type WorkflowWhen,
  workflowSpec,
} from "./spec.js";
