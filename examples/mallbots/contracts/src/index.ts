export * from "./config.js";
export * from "./events.js";
export * from "./names.js";
export * from "./runtime.js";
export * from "./demo.js";
export * from "./http.js";
export * from "./orders.js";
export * from "./propagation.js";
