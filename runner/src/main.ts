import { Command, CommanderError } from "commander";
import { registerBackup } from "./commands/backup.js";
import { registerCopy } from "./commands/copy.js";
import { registerDrill } from "./commands/drill.js";
import { collect, type CommandIo } from "./commands/common.js";
import { registerList } from "./commands/list.js";
import { registerPrune } from "./commands/prune.js";
import { registerRestore } from "./commands/restore.js";
import { registerStatus } from "./commands/status.js";
import { registerVerify } from "./commands/verify.js";
import { registerCheck, registerReset, registerWatch } from "./commands/watch.js";
import { exitCodeOf, InterruptedError, oneLine } from "./errors.js";
import { Cleanup } from "./run/cleanup.js";
import { storeAccessError } from "./store/local/local-store.js";
import { logResultLine } from "./report/builtin.js";
import { TOOL_VERSION } from "./version.js";

export function buildProgram(io: CommandIo): Command {
  const program = new Command()
    .name("owui-backup")
    .description("Consistent snapshots and exact restores of an Open WebUI container")
    .version(TOOL_VERSION)
    .option("--container <name>", "the Open WebUI container (env OWUI_BACKUP_CONTAINER; default open-webui)")
    .option("--store <dir|url>", "where snapshots live (env OWUI_BACKUP_STORE; default: per-user data directory)")
    .option("--s3-endpoint <url>", "S3-compatible endpoint for s3:// stores (env OWUI_BACKUP_S3_ENDPOINT; default AWS)")
    .option("--s3-region <region>", "region of s3:// stores (env OWUI_BACKUP_S3_REGION, else AWS_REGION; default us-east-1)")
    .option("--s3-force-path-style [bool]", "path-style bucket addressing (env OWUI_BACKUP_S3_FORCE_PATH_STYLE; default true with an endpoint)")
    .option("--s3-part-size <MiB>", "multipart part size for uploads, 5-5120 (env OWUI_BACKUP_S3_PART_SIZE; default 8)")
    .option("--log-level <level>", "debug | info | warn | error (env OWUI_BACKUP_LOG_LEVEL)")
    .option("--log-dir <dir>", "where JSON log lines go (env OWUI_BACKUP_LOG_DIR; default <store>/logs)")
    .option("--notify <url>", "tell this URL how runs end: json, ntfy, discord, slack, gotify, mailto, hc (repeatable; env OWUI_BACKUP_NOTIFY, space-separated)", collect)
    .option("--notify-on <when>", "failure (default) or always; health checks (hc) hear of every run (env OWUI_BACKUP_NOTIFY_ON)")
    .option("--metrics-file <path>", "write Prometheus metrics there after every run, for node_exporter's textfile collector (env OWUI_BACKUP_METRICS_FILE)")
    .exitOverride()
    // A half-asleep restorer reads `restore --help`: it must show --store and --container too.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(usageLine(s)) });
  registerBackup(program, io);
  registerList(program, io);
  registerRestore(program, io);
  registerVerify(program, io);
  registerPrune(program, io);
  registerStatus(program, io);
  registerCopy(program, io);
  registerDrill(program, io);
  registerWatch(program, io);
  registerCheck(program, io);
  registerReset(program, io);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Commander's usage errors as one line in the style of every other error:
 * "error: unknown option '--contianer'\n(Did you mean --container?)" becomes
 * "owui-backup: error: unknown option '--contianer'; did you mean --container?".
 */
export function usageLine(message: string): string {
  const [first = "", ...rest] = message.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const hint = rest.map((l) => l.replace(/^\((.*)\)$/, "$1").replace(/^Did you mean/, "did you mean")).join("; ");
  const line = `${first}${hint ? `; ${hint}` : ""}`;
  return `owui-backup: ${line.startsWith("error:") ? line : `error: ${line}`}${/did you mean/.test(line) ? "" : " (see owui-backup --help)"}\n`;
}

/**
 * Runs the CLI and returns its exit code: 0 ok, 1 failure, 2 usage or config error, 130/143 when
 * interrupted. SIGINT/SIGTERM/SIGHUP abort the run and its cleanup runs before the process exits; a
 * second signal stops waiting for the run, runs the pending undo actions and exits.
 */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const emergencyExit = (why: string, code: number) => {
    process.stderr.write(`owui-backup: ${why}; undoing what the run changed, then exiting\n`);
    void Cleanup.runAllActive().finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const interrupted = new InterruptedError(signal);
    if (controller.signal.aborted) return emergencyExit(`${signal} received again`, interrupted.exitCode);
    process.stderr.write(`\nowui-backup: ${signal} received, stopping\n`);
    controller.abort(interrupted);
  };
  // Node exits when nothing is left to wait for, even with the run unfinished (a stream that ended
  // without finishing): never let that skip the undo actions.
  const onBeforeExit = () => {
    emergencyExit("error: the run stalled (a stream stopped without finishing)", 1);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  process.on("beforeExit", onBeforeExit);
  const io: CommandIo = { signal: controller.signal, stdout: process.stdout };
  const started = Date.now();
  let command = "";
  // A reported run (backup, restore, …) ends with its reporters, the log's result line among them; any
  // other run that opened its log ends it here. Failed or not.
  const finish = async (status: "ok" | "failed" | "interrupted", error: unknown, exitCode: number) => {
    if (io.reporting) await io.reporting.finished(status, error, exitCode);
    else if (io.log) logResultLine(io.log, { command, status, error: error === undefined ? null : oneLine(error), exitCode, durationMs: Date.now() - started });
  };
  try {
    const program = buildProgram(io);
    program.hook("preAction", (_program, action) => {
      command = action.name();
    });
    await program.parseAsync(argv);
    const code = io.exitCode ?? 0;
    await finish("ok", undefined, code);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    }
    // An interrupted run may say in what state it left things; otherwise the interruption is the news.
    const reported =
      controller.signal.aborted && !(err instanceof InterruptedError)
        ? (controller.signal.reason as InterruptedError)
        : (io.storeDirectory && storeAccessError(err, io.storeDirectory)) || err;
    process.stderr.write(`owui-backup: error: ${oneLine(reported)}\n`);
    await finish(controller.signal.aborted ? "interrupted" : "failed", reported, exitCodeOf(reported));
    if (process.env.OWUI_BACKUP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return exitCodeOf(reported);
  } finally {
    for (const s of signals) process.off(s, onSignal);
    process.off("beforeExit", onBeforeExit);
  }
}
