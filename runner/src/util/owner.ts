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
