import os from "node:os";

/** Who holds a lock or is writing a snapshot: enough to tell a live run from a dead one. */
export interface Owner {
  pid: number;
  host: string;
  since: string;
  command: string;
}

export function currentOwner(command: string, now = new Date()): Owner {
  return { pid: process.pid, host: os.hostname(), since: now.toISOString(), command };
}

/** An incomplete snapshot whose writer is on another host counts as abandoned once it is this old. */
const FOREIGN_WRITER_AGE_MS = 48 * 3600 * 1000;

/**
 * True when the writer of an incomplete snapshot is gone: it left no owner record, it was a process on
 * this host that no longer exists, or (another host) it started more than 48 hours ago.
 */
export function isAbandonedWriter(owner: Owner | undefined, now = Date.now()): boolean {
  return !owner || isDeadOwner(owner) || now - Date.parse(owner.since) > FOREIGN_WRITER_AGE_MS;
}

/** True when the owner is a process on this host that no longer exists. Owners on other hosts are never stale here. */
export function isDeadOwner(owner: Owner): boolean {
  if (owner.host !== os.hostname()) return false;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
