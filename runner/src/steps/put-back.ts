import type Docker from "dockerode";
import type { Logger } from "pino";
import { ignoreNotModified } from "../docker/client.js";
import { findContainer, runStateOf } from "../docker/container.js";
import { oneLine } from "../errors.js";
import { holdsLock } from "../state/lock.js";
import { readRunState, updateRunState, type HeldContainer, type RunState } from "../state/run-state.js";
import type { Store } from "../store/store.js";
import { isDeadOwner } from "../util/owner.js";

export interface PutBackResult {
  /** What was found and done, as said in the warning; undefined when nothing was left held. */
  message?: string;
  /** A run that is still alive holds the container paused or stopped: look again later. */
  heldByLiveRun?: HeldContainer;
  state: RunState;
}

/**
 * Puts the container back when a run paused or stopped it and was killed before it could undo that
 * (its record in the run state outlived it): unpauses or starts it, clears the record and says so.
 * A run is gone when it was a process of this host that no longer exists, or when it no longer holds
 * the container's lock (runs on other hosts: once their lock expires). A container stopped by a
 * restore that did not finish stays stopped: starting Open WebUI on half-restored data could migrate
 * a broken database.
 */
export async function putBackHeldContainer(ctx: { docker: Docker; store: Store; log: Logger }, container: string): Promise<PutBackResult> {
  const state = await readRunState(ctx.store, container);
  const held = state.held;
  if (!held) return { state };
  if (!isDeadOwner(held.by) && (await holdsLock(ctx.store, container, held.by))) return { heldByLiveRun: held, state };

  const info = await findContainer(ctx.docker, container);
  const now = info ? runStateOf(info) : undefined;
  let did: string;
  if (!info) {
    did = "it no longer exists";
  } else if (held.action === "paused" && now === "paused") {
    await ctx.docker.getContainer(info.Id).unpause();
    did = "unpaused it";
  } else if (held.action === "stopped" && now === "stopped" && state.restoring) {
    did = `it stays stopped: ${state.restoring.id} was being restored into it`;
  } else if (held.action === "stopped" && now === "stopped") {
    await ctx.docker.getContainer(info.Id).start().catch(ignoreNotModified);
    did = "started it";
  } else {
    did = `it is ${now} now; left as it is`;
  }
  await updateRunState(ctx.store, container, ({ held: _done, ...rest }) => rest);
  const message =
    `${container} was left ${held.action} by pid ${held.by.pid} on ${held.by.host} (${held.by.command}) at ${held.at}, ` +
    `which ended without putting it back; ${did}`;
  ctx.log.warn({ container, action: held.action, by: held.by.pid }, message);
  const { held: _gone, ...after } = state;
  return { message, state: after };
}

/** The same, for commands that do not need the engine: a failure to look is a warning, never the command's failure. */
export async function putBackBeforeCommand(ctx: { docker: Docker; store: Store; log: Logger }, container: string): Promise<PutBackResult | undefined> {
  try {
    return await putBackHeldContainer(ctx, container);
  } catch (err) {
    ctx.log.warn(`could not check whether an earlier run left ${container} paused or stopped: ${oneLine(err)}`);
    return undefined;
  }
}
