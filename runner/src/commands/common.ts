import type { Command } from "commander";
import readline from "node:readline/promises";
import type { Logger } from "pino";
import { loadConfig, logDirectory, stderrLevel, storeSettings, type Config, type Flags } from "../config.js";
import { createDockerClient } from "../docker/client.js";
import { createLogger } from "../log.js";
import type { RunContext } from "../run/context.js";
import { UsageError } from "../errors.js";
import { openStore } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import type { Catalog } from "../snapshot/catalog.js";
import { putBackBeforeCommand, type PutBackResult } from "../steps/put-back.js";
import { RunReporting } from "../report/run-reporting.js";
import { parseTarget } from "../report/notify/targets.js";

export interface CommandIo {
  signal: AbortSignal;
  stdout: NodeJS.WritableStream;
  /** Exit code of a command that finished without an error but has something to say (check: 3 = changes). */
  exitCode?: number;
  /** The run's logger once the command opened it: main writes the run's result line through it. */
  log?: Logger;
  /** The local store's directory once opened: main names it when a file operation there is refused. */
  storeDirectory?: string;
  /** For runs that report (backup, restore, prune, copy, drill): main hands the result to the reporters. */
  reporting?: RunReporting;
}

/** Flags of the command and of the program (global --container, --store). */
export function flagsOf(command: Command): Flags {
  return command.optsWithGlobals() as Flags;
}

/**
 * Settings, store, engine client and logger for a command. Usage errors surface before any of them is
 * used. Then, before the command does anything, a container an earlier run paused or stopped and was
 * killed before putting back is put back (steps/put-back.ts), and the command says so.
 */
export async function openContext(
  flags: Flags,
  io: CommandIo,
  options: { logToFile: boolean; quiet?: boolean; copies?: boolean; logPrefix?: string; report?: string; trigger?: string },
): Promise<RunContext & { config: Config; copies: Store[]; putBack: PutBackResult | undefined }> {
  const ctx = openParts(flags, io, options);
  if (options.report) {
    const trigger = options.trigger ?? (typeof flags.trigger === "string" ? flags.trigger : ctx.config.trigger);
    io.reporting = new RunReporting(
      { command: options.report, container: ctx.config.container, store: ctx.store.location, ...(options.report === "backup" ? { trigger } : {}) },
      ctx.config,
      ctx.store,
      ctx.log,
    );
    await io.reporting.started();
  }
  return { ...ctx, putBack: await putBackBeforeCommand(ctx, ctx.config.container) };
}

function openParts(
  flags: Flags,
  io: CommandIo,
  options: { logToFile: boolean; quiet?: boolean; copies?: boolean; logPrefix?: string; report?: string; trigger?: string },
): RunContext & { config: Config; copies: Store[] } {
  const config = loadConfig(flags);
  // Notification URLs are checked before anything is opened: a typo there is a usage error.
  for (const url of config.notify) parseTarget(url);
  const store = openStore(config.store, storeSettings(config));
  // Opened (not contacted) before the logger creates its directory: a bad URL changes nothing.
  const copies = options.copies ? openCopyStores(config.copyTo, store, config) : [];
  const log = createLogger({
    level: stderrLevel(config),
    directory: options.logToFile ? logDirectory(config, store.localDirectory) : undefined,
    prefix: options.logPrefix ?? "backup",
    quiet: Boolean(options.quiet),
  });
  io.log = log;
  if (store.localDirectory) io.storeDirectory = store.localDirectory;
  return { config, store, copies, log, docker: createDockerClient(), signal: io.signal };
}

/** The stores named by --copy-to / --to, opened (no request yet) and checked to differ from the source. */
function openCopyStores(urls: string[], source: Store, config: Config): Store[] {
  const stores = urls.map((url) => openStore(url, storeSettings(config)));
  const seen = new Set([source.identity]);
  for (const store of stores) {
    if (seen.has(store.identity)) throw new UsageError(`${store.location} is named twice as a store; each copy needs a different store`);
    seen.add(store.identity);
  }
  return stores;
}

export function printJson(io: CommandIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/**
 * A command that overwrites or deletes data asks first on a terminal; with nobody to ask (a script, a
 * pipe, CI) it must be told with --yes. Called before anything is opened, so a refusal touches nothing.
 */
export function requireConsentWithoutTerminal(command: string, what: string, yes: boolean): void {
  if (yes || process.stdin.isTTY) return;
  throw new UsageError(`${command} ${what} and asks first, but there is no terminal to ask on; add --yes to go ahead without asking`);
}

/** Asks on a terminal; answers yes when --yes was given (requireConsentWithoutTerminal ran before, without a terminal). */
export async function confirmOnTerminal(question: string, yes: boolean): Promise<boolean> {
  if (yes || !process.stdin.isTTY) return true;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Repeatable flag collector for commander. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function retentionFlags(command: Command): Command {
  return command
    .option("--keep-last <n>", "keep the n newest snapshots (default 10 when no rule is set; env OWUI_BACKUP_KEEP_LAST)")
    .option("--keep-daily <n>", "keep the newest snapshot of each of the last n days that have one (env OWUI_BACKUP_KEEP_DAILY)")
    .option("--keep-weekly <n>", "same for ISO weeks (env OWUI_BACKUP_KEEP_WEEKLY)")
    .option("--keep-monthly <n>", "same for months (env OWUI_BACKUP_KEEP_MONTHLY)");
}

/**
 * The containers a store-wide command (prune, status, verify) acts on: the one named by --container
 * (or OWUI_BACKUP_CONTAINER), else every container with snapshots in the store, else the default.
 * `note` says so when there is nothing of the named container there.
 */
export function containersToActOn(config: Config, catalog: Catalog, storeLocation: string): { containers: string[]; note?: string } {
  const inStore = [...new Set(catalog.snapshots.map((s) => s.container.name))].sort();
  if (config.sources.container !== undefined || inStore.length === 0) {
    const others = inStore.filter((c) => c !== config.container);
    const note = inStore.includes(config.container)
      ? undefined
      : `no snapshots of ${config.container} in ${storeLocation}${others.length > 0 ? `; it holds snapshots of ${others.join(", ")} (--container picks one)` : ""}`;
    return { containers: [config.container], ...(note ? { note } : {}) };
  }
  return { containers: inStore };
}
