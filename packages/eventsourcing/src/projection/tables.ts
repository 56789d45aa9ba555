// Names shared by the SQL backends: the view users query, the table of each generation, the
// bookkeeping tables. Projection names are plain identifiers, so they need no quoting rules.

export const CHECKPOINTS_TABLE = "herald_projection_checkpoints";
export const ACTIVE_TABLE = "herald_projection_active";
/** Per projection: the log (id and epoch) its checkpoints are taken on. */
export const LOG_TABLE = "herald_projection_log";

export function checkProjectionName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(name))
    throw new TypeError(
      `projection name must be an identifier of 1 to 41 characters ([A-Za-z_][A-Za-z0-9_]*), got "${name}"`,
    );
}

/** The quoted table of one generation: "orders__g2". */
export function generationTable(name: string, generation: number): string {
  return `"${name}__g${generation}"`;
}
