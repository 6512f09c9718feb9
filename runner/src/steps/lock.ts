import { LockedError } from "../errors.js";
import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";
import { currentOwner, isDeadOwner, type Owner } from "../util/owner.js";

/**
 * Takes the run lock for a container in a store: one backup, restore or prune at a time. A lock left
 * by a process that no longer exists on this host is taken over. Returns the release function.
 */
export async function acquireLock(store: Store, container: string, command: string): Promise<() => Promise<void>> {
  const key = layout.lock(container);
  const mine = currentOwner(command);
  const body = jsonBody(mine);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await store.putIfAbsent(key, body)) {
      return async () => {
        const held = (await readJsonObject(store, key).catch(() => undefined)) as Owner | undefined;
        if (held && held.pid === mine.pid && held.host === mine.host && held.since === mine.since) await store.delete(key);
      };
    }
    const holder = (await readJsonObject(store, key).catch(() => undefined)) as Owner | undefined;
    if (holder && !isDeadOwner(holder)) {
      throw new LockedError(
        `container ${container} is locked by pid ${holder.pid} on ${holder.host} since ${holder.since} (${holder.command}); ` +
          `wait for it to finish, or delete ${store.location}/${key} if that process is gone`,
      );
    }
    // Stale (its process is gone) or unreadable: take it over.
    await store.delete(key);
  }
  throw new LockedError(`could not take the lock ${store.location}/${key}; another run keeps taking it`);
}

/** True when some run other than this process holds a lock in the store. */
export async function anyOtherLockHeld(store: Store): Promise<boolean> {
  for await (const object of store.list("locks/")) {
    const holder = (await readJsonObject(store, object.key).catch(() => undefined)) as Owner | undefined;
    if (holder && holder.pid !== process.pid && !isDeadOwner(holder)) return true;
  }
  return false;
}
