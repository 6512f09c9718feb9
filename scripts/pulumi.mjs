#!/usr/bin/env node
// `npm run up | preview | destroy`, and `npm run pulumi -- config|stack …`: the Pulumi CLI on one stack
// (OWUI_BACKUP_STACK, default dev, created when missing), with its state in .pulumi/ in this directory,
// so no Pulumi account is needed. Secrets in that state are encrypted with PULUMI_CONFIG_PASSPHRASE.
// Arguments after the command go to pulumi (npm run up -- --yes).
//
// Which CLI: a `pulumi` on PATH (your own install, or one built by test/fixtures/build-pulumi.sh), else
// the pinned `pulumi` npm package, which downloads the matching CLI into ~/.pulumi on first use.
// Ctrl-C reaches the CLI (which cancels cleanly and releases the stack's lock) and this script waits
// for it, so no CLI is left running on its own.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ACTIONS = ["up", "preview", "destroy", "refresh", "config", "stack"];
const [action, ...rest] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stack = process.env.OWUI_BACKUP_STACK || "dev";
const windows = process.platform === "win32";

function fail(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!ACTIONS.includes(action)) fail(`usage: node scripts/pulumi.mjs ${ACTIONS.join("|")} [pulumi arguments…]`, 2);
if (!process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
  fail("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets in .pulumi/; keep it, destroy needs it too", 2);
}

/** A Pulumi CLI on PATH that is not npm's shim of the pinned package (npm puts node_modules/.bin first). */
function cliOnPath() {
  const names = windows ? ["pulumi.exe"] : ["pulumi"];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir || dir.split(/[\\/]/).includes("node_modules")) continue;
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** The command that runs pulumi: [program, ...leading arguments]. No shell: arguments pass as they are. */
function pulumiCommand() {
  const own = cliOnPath();
  if (own) return [own];
  const npmCli = path.join(root, "node_modules", "pulumi", "run.js");
  if (fs.existsSync(npmCli)) return [process.execPath, npmCli];
  fail(
    "no Pulumi CLI: none on PATH, and the pinned npm package is not installed (run npm ci). Install the Pulumi CLI, or build one with test/fixtures/build-pulumi.sh (README, Development)",
    1,
  );
}

const env = { ...process.env, PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL || pathToFileURL(root).href, PULUMI_SKIP_UPDATE_CHECK: "true" };
const [program, ...lead] = pulumiCommand();

/**
 * Runs pulumi and resolves with its exit code. Signals that reach this script are passed on once (a
 * terminal's Ctrl-C reaches the CLI directly too, and npm forwards it again: a second SIGINT within a
 * second is the same keypress, and would make the CLI quit without cleaning up); the script waits for
 * the CLI whatever happens.
 */
function run(args) {
  return new Promise((resolve) => {
    const child = spawn(program, [...lead, ...args], { cwd: root, env, stdio: "inherit" });
    const last = new Map();
    const forward = (signal) => {
      const now = Date.now();
      if (now - (last.get(signal) ?? 0) < 1000) return;
      last.set(signal, now);
      // Interactive: the terminal already delivered it to the CLI, which is in our process group.
      if (signal === "SIGINT" && process.stdin.isTTY) return;
      child.kill(signal);
    };
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of signals) process.on(s, forward);
    child.on("error", (err) => {
      for (const s of signals) process.off(s, forward);
      fail(`cannot run ${program} (${err.message})`, 1);
    });
    child.on("close", (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  });
}

const selected = await run(["stack", "select", "--create", stack, "--non-interactive"]);
if (selected !== 0) process.exit(selected);
process.exit(await run([action, ...rest, "--stack", stack]));
