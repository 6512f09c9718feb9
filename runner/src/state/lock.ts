import { randomBytes } from "node:crypto";
import { LockedError, NotFoundError } from "../errors.js";
import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";
import { currentOwner, isDeadOwner, type Owner } from "../util/owner.js";

/**
 * How long a lock stays valid without being renewed. A run renews it every LOCK_RENEW_MS, so a lock
 * past its expiry belongs to a run that died (or a host that lost power) and may be taken over, even
 * from another host. Clocks of hosts sharing a store must agree to within a few minutes.
 */
export const LOCK_TTL_MS = 10 * 60 * 1000;
const LOCK_RENEW_MS = 2 * 60 * 1000;

/** The lock object: who holds it, since when, and until when it is valid unless renewed. */
export interface LockHolder extends Owner {
  expiresAt?: string;
  /** Random per acquisition: two runs in one process in the same millisecond are still told apart. */
  token?: string;
}

const sameOwner = (a: LockHolder | undefined, b: LockHolder | undefined) =>
  Boolean(a && b && a.pid === b.pid && a.host === b.host && a.since === b.since && a.token === b.token);

/** A holder that cannot still be running: its process is gone from this host, or its lock expired. */
export function isStaleHolder(holder: LockHolder, now = Date.now()): boolean {
  if (isDeadOwner(holder)) return true;
  return holder.expiresAt !== undefined && Date.parse(holder.expiresAt) < now;
}

/** The lock's holder; "absent" when there is no lock; "unreadable" when it cannot be parsed. */
async function readHolder(store: Store, key: string): Promise<LockHolder | "absent" | "unreadable"> {
  try {
    const value = (await readJsonObject(store, key)) as Partial<LockHolder>;
    return typeof value.pid === "number" && typeof value.host === "string" ? (value as LockHolder) : "unreadable";
  } catch (err) {
    return err instanceof NotFoundError ? "absent" : "unreadable";
  }
}

const lockBody = (owner: LockHolder) => jsonBody({ ...owner, expiresAt: new Date(Date.now() + LOCK_TTL_MS).toISOString() });

/** Removes the lock (and stops renewing it); `holder` is what the lock names while it is held. */
export type LockRelease = (() => Promise<void>) & { readonly holder: LockHolder };

/** True while `holder` holds the container's lock and it has not gone stale. */
export async function holdsLock(store: Store, container: string, holder: LockHolder): Promise<boolean> {
  const now = await readHolder(store, layout.lock(container));
  return now !== "absent" && now !== "unreadable" && sameOwner(now, holder) && !isStaleHolder(now);
}

/**
 * Takes the run lock for a container in a store: one backup, restore or prune at a time, also across
 * hosts sharing a bucket prefix. A lock whose holder is stale is taken over — by exactly one taker,
 * the one that creates the takeover marker named after that holder. Returns the release function;
 * until it is called the lock is renewed in the background.
 */
export async function acquireLock(store: Store, container: string, command: string): Promise<LockRelease> {
  const key = layout.lock(container);
  const mine: LockHolder = { ...currentOwner(command), token: randomBytes(8).toString("hex") };
  for (let attempt = 0; attempt < 8; attempt++) {
    if (await store.putIfAbsent(key, lockBody(mine))) return holdLock(store, key, mine);
    const holder = await readHolder(store, key);
    if (holder === "absent") continue; // released in between: try again
    // Our own write, reported as a conflict when a lost response was retried against a conditional write.
    if (holder !== "unreadable" && sameOwner(holder, mine)) return holdLock(store, key, mine);
    if (holder === "unreadable") {
      // It may be mid-write on a store without atomic create; look again before giving up.
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      if ((await readHolder(store, key)) !== "unreadable") continue;
      throw new LockedError(`lock ${store.location}/${key} is unreadable; delete it if no owui-backup run is active`);
    }
    if (!isStaleHolder(holder)) {
      throw new LockedError(
        `container ${container} is locked by pid ${holder.pid} on ${holder.host} since ${holder.since} (${holder.command}); ` +
          `wait for it to finish${holder.expiresAt ? ` (the lock expires at ${holder.expiresAt} unless renewed)` : ""}, ` +
          `or delete ${store.location}/${key} if that process is gone`,
      );
    }
    const marker = `${key}.takeover-${holder.pid}-${Date.parse(holder.since)}`;
    if (await store.putIfAbsent(marker, lockBody(mine))) {
      // Still the same stale holder? Then it is ours to remove; otherwise someone was quicker.
      if (sameOwner((await readHolder(store, key)) as LockHolder, holder)) await store.delete(key);
      await store.delete(marker);
    } else {
      const taker = await readHolder(store, marker);
      if (taker !== "absent" && (taker === "unreadable" || isStaleHolder(taker))) await store.delete(marker);
    }
  }
  throw new LockedError(`could not take the lock ${store.location}/${key}; other runs keep taking it`);
}

/** Renews the lock while the run lasts; the returned function stops renewing and removes it. */
function holdLock(store: Store, key: string, mine: LockHolder): LockRelease {
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    // Only a lock that is still ours is renewed: after an expiry someone else may hold it.
    if (sameOwner((await readHolder(store, key)) as LockHolder, mine) && !released) await store.put(key, lockBody(mine));
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew).catch(() => undefined);
  }, LOCK_RENEW_MS);
  timer.unref();
  const release = async () => {
    released = true;
    clearInterval(timer);
    // A renewal in flight must land before the delete, or it would bring the lock back.
    await renewing;
    if (sameOwner((await readHolder(store, key)) as LockHolder, mine)) await store.delete(key);
  };
  return Object.assign(release, { holder: mine });
}
