import type Docker from "dockerode";
import type { Logger } from "pino";
import { ignoreNotModified } from "../docker/client.js";
import { findContainer, runStateOf } from "../docker/container.js";
import { LockedError, oneLine } from "../errors.js";
import { acquireLock, holdsLock } from "../state/lock.js";
import { readPending, updatePending, type HeldContainer, type PendingChanges } from "../state/pending.js";
import type { Store } from "../store/store.js";
import { isDeadOwner } from "../util/owner.js";

export interface PutBackResult {
  /** What was found and done, as said in the warning; undefined when nothing was done. */
  message?: string;
  /** A run that is (or may still be) alive holds the container paused or stopped: look again later. */
  heldByLiveRun?: HeldContainer;
  pending: PendingChanges;
}

type Context = { docker: Docker; store: Store; log: Logger };

/**
 * Puts the container back when a run paused or stopped it and was killed before it could undo that
 * (its pending record outlived it): unpauses or starts it, removes the record and says so. A run is
 * gone when it was a process of this host that no longer exists, or when it no longer holds the
 * container's lock (a run on another host: once its lock has expired). The put-back itself takes the
 * lock, so it never races a run that starts meanwhile, and acts only on the very container the record
 * names (another engine's container of the same name is left alone, and so is the record). A
 * container stopped by a restore that did not finish stays stopped: starting Open WebUI on
 * half-restored data could migrate a broken database.
 */
export async function putBackHeldContainer(ctx: Context, container: string): Promise<PutBackResult> {
  const seen = await readPending(ctx.store, container);
  const held = seen.held;
  if (!held) return { pending: seen };
  if (!isDeadOwner(held.by) && (await holdsLock(ctx.store, container, held.by))) return { heldByLiveRun: held, pending: seen };
  const info = await findContainer(ctx.docker, container);
  if (!info || info.Id !== held.containerId) return { pending: seen };

  let release: Awaited<ReturnType<typeof acquireLock>>;
  try {
    release = await acquireLock(ctx.store, container, "put back a container a killed run left");
  } catch (err) {
    // Another host's run whose lock has not expired yet, or a run that just started: later.
    if (err instanceof LockedError) return { heldByLiveRun: held, pending: seen };
    throw err;
  }
  try {
    // Looked at again under the lock: only the record of the run that is gone is acted on.
    const pending = await readPending(ctx.store, container);
    if (!pending.held || pending.held.by.token !== held.by.token) return { pending };
    const now = runStateOf(await ctx.docker.getContainer(info.Id).inspect());
    let did: string;
    if (held.action === "paused" && now === "paused") {
      await ctx.docker.getContainer(info.Id).unpause();
      did = "unpaused it";
    } else if (held.action === "stopped" && now === "stopped" && pending.restoring) {
      did = `it stays stopped: ${pending.restoring.id} was being restored into it`;
    } else if (held.action === "stopped" && now === "stopped") {
      await ctx.docker.getContainer(info.Id).start().catch(ignoreNotModified);
      did = "started it";
    } else {
      did = `it is ${now} now; left as it is`;
    }
    await updatePending(ctx.store, container, { held: undefined });
    const message =
      `${container} was left ${held.action} by pid ${held.by.pid} on ${held.by.host} (${held.by.command}) at ${held.at}, ` +
      `which ended without putting it back; ${did}`;
    ctx.log.warn({ container, action: held.action, by: held.by.pid }, message);
    const { held: _gone, ...after } = pending;
    return { message, pending: after };
  } finally {
    await release();
  }
}

/**
 * The same before any command: the record is keyed by the container's name, so an id given with
 * --container is resolved first. A failure to look is a warning, never the command's failure.
 */
export async function putBackBeforeCommand(ctx: Context, container: string): Promise<PutBackResult | undefined> {
  try {
    let name = container;
    if (/^[0-9a-f]{12,64}$/.test(container) && !(await readPending(ctx.store, container)).held) {
      const info = await findContainer(ctx.docker, container);
      if (info) name = info.Name.replace(/^\//, "");
    }
    return await putBackHeldContainer(ctx, name);
  } catch (err) {
    ctx.log.warn(`could not check whether an earlier run left ${container} paused or stopped: ${oneLine(err)}`);
    return undefined;
  }
}
