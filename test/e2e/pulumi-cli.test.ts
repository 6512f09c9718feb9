import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";

/**
 * The Pulumi program under the real Pulumi CLI and Node.js language host, built from Go modules by
 * test/fixtures/build-pulumi.sh, run the way a user runs it (scripts/pulumi.mjs, which `npm run up`
 * calls) in a copy of the project with a file backend of its own. What needs no resource provider:
 * configuration errors, secrets in the stack file, Ctrl-C, and where the engine runs the program. The
 * docker and command providers are not served by the module proxy (build-pulumi.sh says so), so no
 * test here creates a container or a schedule.
 */
const repo = path.resolve(import.meta.dirname, "../..");
let project: string;
let env: NodeJS.ProcessEnv;

/** The environment line build-pulumi.sh prints last: `export PATH=… PULUMI_HOME=…`. */
function toolchainEnv(): Record<string, string> {
  const out = execFileSync("bash", [path.join(repo, "test/fixtures/build-pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = out.trim().split("\n").at(-1) ?? "";
  // Let a shell evaluate it, as a user's `eval` does, and report the two variables.
  const evaluated = execFileSync("bash", ["-c", `${line}; printf '%s\\0%s' "$PATH" "$PULUMI_HOME"`], { encoding: "utf8" }).split("\0");
  const [PATH, PULUMI_HOME] = evaluated;
  if (!PATH || !PULUMI_HOME) throw new Error(`build-pulumi.sh ended with no environment line: ${line}`);
  return { PATH, PULUMI_HOME };
}

/** The project as a user has it after `npm ci`: Pulumi.yaml, stack files, the built program, scripts, dependencies. */
function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-pulumi-project-"));
  for (const f of fs.readdirSync(repo).filter((f) => /^Pulumi(\.\w+)?\.yaml$/.test(f) || f === "package.json")) fs.copyFileSync(path.join(repo, f), path.join(dir, f));
  fs.cpSync(path.join(repo, "scripts"), path.join(dir, "scripts"), { recursive: true });
  fs.mkdirSync(path.join(dir, "infra"));
  fs.copyFileSync(path.join(repo, "infra/package.json"), path.join(dir, "infra/package.json"));
  fs.cpSync(path.join(repo, "infra/dist"), path.join(dir, "infra/dist"), { recursive: true });
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
  if (fs.existsSync(path.join(repo, "infra/node_modules"))) fs.symlinkSync(path.join(repo, "infra/node_modules"), path.join(dir, "infra/node_modules"));
  // A fresh checkout has no encryption salt yet: the stack files get theirs when the stacks are created.
  return dir;
}

function pulumi(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["scripts/pulumi.mjs", ...args], { cwd: project, env: { ...env, ...extra }, encoding: "utf8", timeout: 180_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.name === "node_modules" ? [] : e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));

describe.skipIf(requireDockerOrSkip())("the program under the real Pulumi CLI", () => {
  beforeAll(() => {
    // Cold, this builds the CLI (minutes); .ci/run builds it first, so here it is seconds.
    const toolchain = toolchainEnv();
    project = copyProject();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_") && !k.startsWith("OWUI_BACKUP_")));
    // Offline: no plugin downloads (they would only retry and fail).
    env = { ...clean, ...toolchain, PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple", PULUMI_BACKEND_URL: `file://${project}`, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" };
  }, 1_800_000);
  afterAll(() => project && fs.rmSync(project, { recursive: true, force: true }));

  it("a bad value stops `up` before any resource, with one line naming the key", () => {
    expect(pulumi(["config", "set", "--path", "owui-backup:schedule.time", "25:00"]).code).toBe(0);
    const up = pulumi(["up", "--yes"]);
    expect(up.code).not.toBe(0);
    const lines = up.out.split("\n").filter((l) => l.includes("owui-backup:schedule.time"));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.trim()).toMatch(/(^|error: )owui-backup:schedule\.time: expected a time of day as HH:MM, such as "02:00"$/);
    expect(up.out).not.toMatch(/\n\s+at .*\.js:\d+/);
    const state = JSON.parse(execFileSync("pulumi", ["stack", "export", "--stack", "dev"], { cwd: project, env, encoding: "utf8" }));
    expect((state.deployment.resources ?? []).map((r: { type: string }) => r.type).filter((t: string) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    expect(pulumi(["config", "rm", "--path", "owui-backup:schedule.time"]).code).toBe(0);
  });

  it("a secret set with `npm run pulumi -- config set --secret` is ciphertext in the stack file and nowhere in plain text", () => {
    const secret = "K004-not-a-real-key-8d3f0c2e";
    const set = pulumi(["config", "set", "--secret", "owui-backup:s3SecretAccessKey", secret], { OWUI_BACKUP_STACK: "b2" });
    expect(set.code, set.out).toBe(0);
    const stackFile = fs.readFileSync(path.join(project, "Pulumi.b2.yaml"), "utf8");
    expect(stackFile).toMatch(/owui-backup:s3SecretAccessKey:\n\s+secure: \S+/);
    for (const file of filesUnder(project)) expect(fs.readFileSync(file, "latin1").includes(secret), file).toBe(false);
    const get = spawnSync("pulumi", ["config", "get", "owui-backup:s3SecretAccessKey", "--stack", "b2"], { cwd: project, env, encoding: "utf8" });
    expect(get.stdout.trim()).toBe(secret);
  });

  it("the engine runs the program in infra/, yet a relative storage.path lands beside Pulumi.yaml", () => {
    expect(pulumi(["config", "set", "--path", "owui-backup:storage.path", "./relative-store"]).code).toBe(0);
    // The store directory is made while the program runs an update (not a preview: hence no preview
    // first), before any provider is needed, when the runner runs as you (a rootful local engine).
    pulumi(["up", "--yes", "--skip-preview"]);
    expect(fs.existsSync(path.join(project, "relative-store"))).toBe(true);
    expect(fs.existsSync(path.join(project, "infra", "relative-store"))).toBe(false);
    expect(pulumi(["config", "rm", "--path", "owui-backup:storage.path"]).code).toBe(0);
  });

  it("Ctrl-C during `up` reaches the CLI, which cancels; the script waits, no CLI is left and the stack is not locked", async () => {
    // Keep the CLI busy until Ctrl-C: its provider download goes to a proxy that accepts and never answers
    // (without it, `up` fails on the missing provider within a second or two, before any Ctrl-C).
    const held: net.Socket[] = [];
    const proxy = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    onTestFinished(() => {
      for (const socket of held) socket.destroy();
      proxy.close();
    });
    const busy = { ...env, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "false", HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, https_proxy: proxyUrl, http_proxy: proxyUrl, NO_PROXY: "", no_proxy: "" };
    const child = spawn(process.execPath, ["scripts/pulumi.mjs", "up", "--yes"], { cwd: project, env: busy, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (held.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const clis = () => spawnSync("pgrep", ["-f", `${env.PULUMI_HOME!.replace(/home$/, "bin")}/pulumi up`], { encoding: "utf8" }).stdout.trim();
    expect(clis()).not.toBe("");
    child.kill("SIGINT");
    const code = await exited;
    expect(code).not.toBe(0);
    expect(clis()).toBe("");
    const locks = path.join(project, ".pulumi", "locks");
    expect(fs.existsSync(locks) ? filesUnder(locks) : []).toEqual([]);
    // Not locked: the next command goes through.
    expect(pulumi(["stack", "ls"]).code).toBe(0);
  });
});
