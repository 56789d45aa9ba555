// CESQL v1 (CloudEvents SQL Expression Language): compile once, evaluate many events.
export { compileCesql } from "./compile.js";
export { CesqlError, type CesqlErrorKind } from "./errors.js";
export type { CesqlEvaluation, CesqlEvent, CesqlValue, CompiledCesql } from "./types.js";
