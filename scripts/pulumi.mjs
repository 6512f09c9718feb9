#!/usr/bin/env node
// `npm run up | preview | destroy`, and `npm run pulumi -- config|stack …`: the Pulumi CLI (the pinned
// `pulumi` npm package, which fetches the CLI once into ~/.pulumi) on one stack (OWUI_BACKUP_STACK,
// default dev, created when missing), with its state in .pulumi/ in this directory, so no Pulumi
// account is needed. Secrets in that state are encrypted with PULUMI_CONFIG_PASSPHRASE. Arguments
// after the command go to pulumi (npm run up -- --yes).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ACTIONS = ["up", "preview", "destroy", "refresh", "config", "stack"];
const [action, ...rest] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stack = process.env.OWUI_BACKUP_STACK || "dev";

function fail(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!ACTIONS.includes(action)) fail(`usage: node scripts/pulumi.mjs ${ACTIONS.join("|")} [pulumi arguments…]`, 2);
if (!process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
  fail("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets in .pulumi/; keep it, destroy needs it too", 2);
}

const env = { ...process.env, PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL || pathToFileURL(root).href, PULUMI_SKIP_UPDATE_CHECK: "true" };
function pulumi(args) {
  // A shell on Windows, where npm's bin shim is pulumi.cmd.
  const r = spawnSync("pulumi", args, { cwd: root, env, stdio: "inherit", shell: process.platform === "win32" });
  if (r.error) fail(`cannot run pulumi (${r.error.message}); run npm ci first`, 1);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

pulumi(["stack", "select", "--create", stack, "--non-interactive"]);
pulumi([action, ...rest, "--stack", stack]);
