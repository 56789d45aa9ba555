// `@herald/log-postgres`: Herald's EventLog on PostgreSQL.
export { openPostgresLog, type PostgresLogOptions } from "./postgres-log.js";
export { SCHEMA_VERSION } from "./schema.js";
