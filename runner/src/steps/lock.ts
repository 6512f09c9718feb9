import { LockedError, NotFoundError } from "../errors.js";
import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";
import { currentOwner, isDeadOwner, type Owner } from "../util/owner.js";

const sameOwner = (a: Owner | undefined, b: Owner | undefined) =>
  Boolean(a && b && a.pid === b.pid && a.host === b.host && a.since === b.since);

/** The lock's holder; "absent" when there is no lock; "unreadable" when it cannot be parsed. */
async function readHolder(store: Store, key: string): Promise<Owner | "absent" | "unreadable"> {
  try {
    const value = (await readJsonObject(store, key)) as Partial<Owner>;
    return typeof value.pid === "number" && typeof value.host === "string" ? (value as Owner) : "unreadable";
  } catch (err) {
    return err instanceof NotFoundError ? "absent" : "unreadable";
  }
}

/**
 * Takes the run lock for a container in a store: one backup, restore or prune at a time. A lock left
 * by a process that no longer exists on this host is taken over — by exactly one taker, the one that
 * creates the takeover marker named after that dead holder. Returns the release function.
 */
export async function acquireLock(store: Store, container: string, command: string): Promise<() => Promise<void>> {
  const key = layout.lock(container);
  const mine = currentOwner(command);
  const body = jsonBody(mine);
  for (let attempt = 0; attempt < 8; attempt++) {
    if (await store.putIfAbsent(key, body)) {
      return async () => {
        if (sameOwner((await readHolder(store, key)) as Owner, mine)) await store.delete(key);
      };
    }
    const holder = await readHolder(store, key);
    if (holder === "absent") continue; // released in between: try again
    if (holder === "unreadable") {
      // It may be mid-write on a store without atomic create; look again before giving up.
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      if ((await readHolder(store, key)) !== "unreadable") continue;
      throw new LockedError(`lock ${store.location}/${key} is unreadable; delete it if no owui-backup run is active`);
    }
    if (!isDeadOwner(holder)) {
      throw new LockedError(
        `container ${container} is locked by pid ${holder.pid} on ${holder.host} since ${holder.since} (${holder.command}); ` +
          `wait for it to finish, or delete ${store.location}/${key} if that process is gone`,
      );
    }
    const marker = `${key}.takeover-${holder.pid}-${Date.parse(holder.since)}`;
    if (await store.putIfAbsent(marker, body)) {
      // Still the same dead holder? Then it is ours to remove; otherwise someone was quicker.
      if (sameOwner((await readHolder(store, key)) as Owner, holder)) await store.delete(key);
      await store.delete(marker);
    } else {
      const taker = await readHolder(store, marker);
      if (taker !== "absent" && (taker === "unreadable" || isDeadOwner(taker))) await store.delete(marker);
    }
  }
  throw new LockedError(`could not take the lock ${store.location}/${key}; other runs keep taking it`);
}
