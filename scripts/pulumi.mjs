#!/usr/bin/env node
// `npm run up | preview | destroy`, and `npm run pulumi -- config|stack …`: the Pulumi CLI on one stack
// (OWUI_BACKUP_STACK, default dev, created when missing), with its state in .pulumi/ in this directory,
// so no Pulumi account is needed. Secrets in that state are encrypted with PULUMI_CONFIG_PASSPHRASE.
// Arguments after the command go to pulumi (npm run up -- --yes).
//
// Which CLI: a `pulumi` on PATH (your own install, or one built by test/fixtures/build-pulumi.sh), else
// the one the pinned `pulumi` npm package downloads into ~/.pulumi on first use, run directly.
// Ctrl-C reaches the CLI once (it cancels cleanly and releases the stack's lock) and this script waits
// for it, so no CLI is left running on its own.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
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

/**
 * The Pulumi CLI binary itself (never a wrapper that would stand between it and Ctrl-C): a pulumi on
 * PATH, else the one the pinned npm package keeps (downloaded once into ~/.pulumi, as its own shim does).
 */
async function pulumiBinary() {
  const own = cliOnPath();
  if (own) return own;
  const resolver = path.join(root, "node_modules", "pulumi", "lib", "resolve.js");
  if (!fs.existsSync(resolver)) {
    fail(
      "no Pulumi CLI: none on PATH, and the pinned npm package is not installed (run npm ci). Install the Pulumi CLI, or build one with test/fixtures/build-pulumi.sh (README, Development)",
      1,
    );
  }
  const version = JSON.parse(fs.readFileSync(path.join(root, "node_modules", "pulumi", "package.json"), "utf8")).version;
  try {
    return await createRequire(import.meta.url)(resolver).resolve();
  } catch (err) {
    fail(
      `no Pulumi CLI on PATH, and the Pulumi CLI ${version} could not be downloaded (the pinned npm package "pulumi" fetches it on first use with Pulumi's install script from get.pulumi.com: ${err.message}). ` +
        `Put a Pulumi CLI on PATH and this script uses it (pulumi.com/docs/install, or build one: bash test/fixtures/build-pulumi.sh), or drive your own: pulumi login ${pathToFileURL(root).href} && pulumi up -s ${stack} (docs/provisioning.md)`,
      1,
    );
  }
}

const binary = await pulumiBinary();
// Language hosts and plugins shipped beside the CLI are found through PATH, as the npm shim does it.
const env = {
  ...process.env,
  PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH ?? ""}`,
  PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL || pathToFileURL(root).href,
  PULUMI_SKIP_UPDATE_CHECK: "true",
};

/**
 * Runs pulumi and resolves with its exit code, waiting for it whatever happens. Pulumi cancels cleanly
 * on its first SIGINT or SIGTERM and quits at once on a second one, so it must get exactly one:
 * - on a terminal, Ctrl-C reaches the CLI directly (same foreground process group); this script only
 *   waits, and passes on SIGTERM/SIGHUP sent to it alone;
 * - without one (scripts, CI), the CLI gets a process group of its own, so a signal sent to a whole
 *   group (timeout, a CI cancel) reaches it only through this script, which passes the first one on;
 * - on Windows the console delivers Ctrl-C to every process attached to it; nothing is passed on
 *   (Node can only kill a process there, not interrupt it).
 */
function run(args) {
  return new Promise((resolve) => {
    const interactive = Boolean(process.stdin.isTTY);
    const child = spawn(binary, args, { cwd: root, env, stdio: "inherit", detached: !interactive && !windows });
    let passedOn = false;
    const forward = (signal) => {
      if (windows || passedOn || (interactive && signal === "SIGINT")) return;
      passedOn = true;
      child.kill(signal);
    };
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of signals) process.on(s, forward);
    child.on("error", (err) => {
      for (const s of signals) process.off(s, forward);
      fail(`cannot run ${binary} (${err.message})`, 1);
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
