import type { Command } from "commander";
import { readCatalog, storedBytes, type Catalog } from "../snapshot/catalog.js";
import { readRunState } from "../state/run-state.js";
import { holdsLock } from "../state/lock.js";
import { interruptedRestoreMessage, readPending } from "../state/pending.js";
import { readDrills } from "../state/drills.js";
import { formatAge, formatBytes } from "../util/format.js";
import { containersToActOn, flagsOf, openContext, printJson, type CommandIo } from "./common.js";

export function registerStatus(program: Command, io: CommandIo): void {
  program
    .command("status")
    .description("per container (every one in the store, or --container): last snapshot, its age and size, how many, store size, last failure; exit 1 when not healthy")
    .option("--json", "print one JSON object (an array when several containers are reported)")
    .action(async (_options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      const ctx = await openContext(flags, io, { logToFile: false });
      const catalog = await readCatalog(ctx.store);
      // Every container in the store, unless --container narrows it (as prune and verify do).
      const { containers, note } = containersToActOn(ctx.config, catalog, ctx.store.location);
      if (note && !flags.json) process.stderr.write(`${note}\n`);
      const reports = [];
      for (const container of containers) reports.push(await statusOf(ctx, catalog, container));
      // Monitoring reads the exit code: 0 all healthy, 1 not (documented in the README).
      if (reports.some((r) => !r.status.healthy)) io.exitCode = 1;
      if (flags.json) {
        printJson(io, reports.length === 1 ? reports[0]!.status : reports.map((r) => r.status));
        return;
      }
      io.stdout.write(reports.map((r) => r.lines.join("\n") + "\n").join("\n"));
    });
}

/** One container's status: the JSON record and the lines people read. */
async function statusOf(ctx: Awaited<ReturnType<typeof openContext>>, catalog: Catalog, container: string) {
  const mine = catalog.snapshots.filter((s) => s.container.name === container);
  const last = mine[0];
  const state = await readRunState(ctx.store, container);
  // Read after the put-back above, which may have cleared a held record.
  const pending = await readPending(ctx.store, container);
  // A restore still running holds the lock; one whose lock is gone was interrupted.
  const restoreLive = pending.restoring ? await holdsLock(ctx.store, container, pending.restoring.by) : false;
  const interrupted = restoreLive ? undefined : pending.restoring;
  const failureIsLatest = Boolean(state.lastFailure && (!last || state.lastFailure.at > last.finishedAt));
  const status = {
    container,
    store: ctx.store.location,
    snapshots: mine.length,
    last: last
      ? {
          id: last.id,
          createdAt: last.createdAt,
          ageSeconds: Math.round((Date.now() - Date.parse(last.createdAt)) / 1000),
          sizeBytes: last.sizeBytes,
          trigger: last.trigger,
        }
      : null,
    storeBytes: await storedBytes(ctx.store, catalog),
    incomplete: catalog.incomplete.length,
    lastFailure: state.lastFailure ?? null,
    /** A restore that changed the container and did not finish: backups refuse until a restore does. */
    restoreInterrupted: interrupted ?? null,
    /** A restore running right now. */
    restoreRunning: restoreLive ? pending.restoring : null,
    /** What this command found an earlier, killed run had left paused or stopped, and what it did. */
    putBack: container === ctx.config.container ? (ctx.putBack?.message ?? null) : null,
    /** A run holds the container paused or stopped right now. */
    held: pending.held ?? null,
    /** The last restore rehearsal (drill). */
    lastDrill: (await readDrills(ctx.store, container)).at(-1) ?? null,
    healthy: Boolean(last) && !failureIsLatest && !interrupted,
    /** Why not healthy, in one line (null when healthy). */
    problem: !last
      ? `no snapshot of ${container} in this store`
      : interrupted
        ? "a restore was interrupted"
        : failureIsLatest
          ? "the last run failed"
          : null,
  };
  const lines = [
    `health      ${status.problem ? `NOT HEALTHY: ${status.problem}` : "ok"}`,
    `container   ${container}`,
    `store       ${status.store}`,
    status.last
      ? `last        ${status.last.id} (${status.last.trigger}), ${formatAge(status.last.ageSeconds)} ago, ${formatBytes(status.last.sizeBytes)}`
      : "last        none",
    `snapshots   ${status.snapshots} of this container, store holds ${formatBytes(status.storeBytes)}`,
    status.lastFailure ? `last failure ${status.lastFailure.at} (${status.lastFailure.trigger}): ${status.lastFailure.error}` : "last failure none",
    ...(interrupted ? [`RESTORE INTERRUPTED: ${interruptedRestoreMessage(interrupted)}`] : []),
    ...(restoreLive && pending.restoring ? [`restoring   ${pending.restoring.id} since ${pending.restoring.at} (pid ${pending.restoring.by.pid} on ${pending.restoring.by.host})`] : []),
    ...(pending.held ? [`now         ${pending.held.action} by pid ${pending.held.by.pid} on ${pending.held.by.host} (${pending.held.by.command}) since ${pending.held.at}`] : []),
    ...(status.putBack ? [`put back    ${status.putBack}`] : []),
    status.lastDrill
      ? `last drill  ${status.lastDrill.id} at ${status.lastDrill.at}: ${status.lastDrill.ok ? "passed" : `FAILED (${status.lastDrill.failed.join("; ")})`}`
      : "last drill  none",
  ];
  return { status, lines };
}
