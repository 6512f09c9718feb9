/** How SQLite files are recognised inside archives and containers. */
export const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");

export function isSqliteHeader(head: Buffer): boolean {
  return head.length >= SQLITE_MAGIC.length && head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC);
}

/** Files SQLite keeps beside a database; a consistent copy of the database makes them stale. */
export const SQLITE_SIDECARS = ["-wal", "-shm", "-journal"] as const;

/** The database a sidecar belongs to ("webui.db-wal" → "webui.db"), or undefined. */
export function databaseOfSidecar(name: string): string | undefined {
  for (const suffix of SQLITE_SIDECARS) {
    if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  }
  return undefined;
}
