import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

/** `npm run up | preview | destroy` (scripts/pulumi.mjs), with a stand-in `pulumi` that records its calls. */
const root = path.resolve(import.meta.dirname, "../..");
let tmp: string;
let log: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "owui-pulumi-"));
  log = path.join(tmp, "calls.log");
  fs.writeFileSync(path.join(tmp, "pulumi"), `#!/bin/sh\necho "$PULUMI_BACKEND_URL | $*" >> "${log}"\n`, { mode: 0o755 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string | undefined>) {
  const clean = { ...process.env, PATH: `${tmp}:${process.env.PATH}`, PULUMI_BACKEND_URL: undefined, PULUMI_CONFIG_PASSPHRASE: undefined, OWUI_BACKUP_STACK: undefined };
  return spawnSync("node", ["scripts/pulumi.mjs", ...args], { cwd: root, env: { ...clean, ...env }, encoding: "utf8" });
}

describe("scripts/pulumi.mjs", () => {
  test("selects (or creates) the stack with state in this directory, then runs the action", () => {
    const r = run(["up", "--yes"], { PULUMI_CONFIG_PASSPHRASE: "correct horse" });
    expect(r.status).toBe(0);
    const backend = pathToFileURL(root).href;
    expect(fs.readFileSync(log, "utf8")).toBe(`${backend} | stack select --create dev --non-interactive\n${backend} | up --yes --stack dev\n`);
  });

  test("another stack by OWUI_BACKUP_STACK; destroy", () => {
    fs.rmSync(log, { force: true });
    expect(run(["destroy"], { PULUMI_CONFIG_PASSPHRASE: "x", OWUI_BACKUP_STACK: "aws" }).status).toBe(0);
    expect(fs.readFileSync(log, "utf8")).toContain("| destroy --stack aws\n");
    expect(run(["config", "set", "--secret", "owui-backup:s3SecretAccessKey", "K004"], { PULUMI_CONFIG_PASSPHRASE: "x", OWUI_BACKUP_STACK: "b2" }).status).toBe(0);
    expect(fs.readFileSync(log, "utf8")).toContain("| config set --secret owui-backup:s3SecretAccessKey K004 --stack b2\n");
  });

  test("without a CLI on PATH and with the download failing: one message naming the download, where from, and the ways out", () => {
    const home = fs.mkdtempSync(path.join(tmp, "home-"));
    // No network at unit level: fetch fails as it does offline.
    const offline = `--import=data:text/javascript,${encodeURIComponent('globalThis.fetch = () => Promise.reject(new TypeError("fetch failed"));')}`;
    const r = run(["up"], { PULUMI_CONFIG_PASSPHRASE: "x", PATH: path.dirname(process.execPath), HOME: home, PULUMI_HOME: undefined, NODE_OPTIONS: offline });
    expect(r.status).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l && !l.startsWith("Downloading pulumi"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^no Pulumi CLI on PATH, and the Pulumi CLI 3\.\d+\.\d+ could not be downloaded \(the pinned npm package "pulumi" fetches it on first use with Pulumi's install script from get\.pulumi\.com: fetch failed\)\. /);
    expect(lines[0]).toContain("Put a Pulumi CLI on PATH and this script uses it");
    expect(lines[0]).toContain(`pulumi login ${pathToFileURL(root).href} && pulumi up -s dev`);
    expect(lines[0]).not.toMatch(/npm ci/);
  });

  test("the pulumi on PATH is used even though npm puts the pinned package's shim first; arguments pass as they are, no shell", () => {
    fs.rmSync(log, { force: true });
    const shim = path.join(root, "node_modules", ".bin");
    const r = run(["config", "set", "owui-backup:x", `a b'c"$HOME;`], { PULUMI_CONFIG_PASSPHRASE: "x", PATH: `${shim}:${tmp}:${process.env.PATH}` });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(log, "utf8")).toContain(`| config set owui-backup:x a b'c"$HOME; --stack dev\n`);
  });

  test("Ctrl-C reaches the CLI once (however often it arrives), and the script waits for the CLI to finish", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "slow-"));
    const slowLog = path.join(dir, "calls.log");
    // A CLI that needs a moment to cancel cleanly (release its lock) after SIGINT.
    fs.writeFileSync(
      path.join(dir, "pulumi"),
      `#!/bin/sh\n[ "$1" = stack ] && exit 0\ntrap 'echo INT >> "${slowLog}"' INT\necho started >> "${slowLog}"\nwhile [ "$(grep -c INT "${slowLog}")" = 0 ]; do sleep 0.05; done\nsleep 1\necho cancelled >> "${slowLog}"\nexit 7\n`,
      { mode: 0o755 },
    );
    const child = spawn("node", ["scripts/pulumi.mjs", "up"], {
      cwd: root,
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE: "x", PULUMI_BACKEND_URL: undefined },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    while (!fs.existsSync(slowLog) || !fs.readFileSync(slowLog, "utf8").includes("started")) await new Promise((r) => setTimeout(r, 20));
    // As npm's forwarding and a terminal's process group deliver it: twice, at once.
    child.kill("SIGINT");
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(7);
    // The CLI finished its cancellation before the script exited, and saw the signal once.
    expect(fs.readFileSync(slowLog, "utf8").split("\n").filter(Boolean)).toEqual(["started", "INT", "cancelled"]);
  });

  test("without a passphrase, or with an unknown action: exit 2, one line, pulumi not run", () => {
    fs.rmSync(log, { force: true });
    const noPass = run(["up"], {});
    expect(noPass.status).toBe(2);
    expect(noPass.stderr.trim().split("\n")).toEqual([expect.stringContaining("set PULUMI_CONFIG_PASSPHRASE")]);
    const bad = run(["deploy"], { PULUMI_CONFIG_PASSPHRASE: "x" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("usage: node scripts/pulumi.mjs up|preview|destroy|refresh|config|stack [pulumi arguments…]");
    expect(fs.existsSync(log)).toBe(false);
  });
});
