// @herald/workflows: process managers over the log, sagas with compensation, durable timers.
export { InstanceConflictError, StepError, WorkflowError } from "./errors.js";
export { DISPATCHED_TYPE, PARKED_TYPE, STEPPED_TYPE } from "./instance.js";
export {
  instanceStream,
  ProcessManager,
  type ProcessManagerOptions,
  type RunOptions,
} from "./process-manager.js";
export {
  defineSaga,
  SAGA_EVENTS,
  SAGA_STATUS,
  type SagaCompensation,
  type SagaDefinition,
  type SagaState,
  type SagaStep,
} from "./saga.js";
export {
  type Clock,
  heraldTimers,
  systemClock,
  TIMER_EVENT_TYPE,
  type TimerScheduler,
  timerData,
} from "./timers.js";
export type {
  EmittedInit,
  EventMap,
  EventMapOf,
  HandleOutcome,
  InstanceSnapshot,
  InstanceView,
  ProcessDefinition,
  Step,
  StepContext,
  TimeoutRequest,
  TimerData,
  Transition,
} from "./types.js";
