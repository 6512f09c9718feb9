import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalStore } from "../../runner/src/store/local/local-store.js";
import { runCli } from "../helpers/cli.js";
import { writeSyntheticSnapshot } from "../helpers/synthetic.js";

const repo = path.resolve(import.meta.dirname, "../..");

/** Every text a user copies commands from: the README, docs/, and the Pulumi program's outputs. */
function documented(): [string, string][] {
  const files = ["README.md", ...fs.readdirSync(path.join(repo, "docs"), { recursive: true }).map((f) => path.join("docs", String(f)))];
  files.push(...fs.readdirSync(path.join(repo, "infra"), { recursive: true }).map((f) => path.join("infra", String(f))).filter((f) => f.endsWith(".ts") && !f.includes("node_modules")));
  return files.filter((f) => fs.statSync(path.join(repo, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(repo, f), "utf8")]);
}

describe("documented commands", () => {
  it("none can fetch and run a package from the npm registry (npx, npm exec without --no, dlx)", () => {
    const risky = /\bnpx\s|\bnpm\s+(exec|x)\s(?!--no\b)|\b(pnpm|yarn)\s+dlx\b|\bbunx\s/;
    const found = documented().flatMap(([file, text]) =>
      text
        .split("\n")
        .map((line, i) => [line, i] as const)
        .filter(([line]) => risky.test(line))
        .map(([line, i]) => `${file}:${i + 1}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });

  it("./owui-backup is the clone's own CLI, from the clone and by its path from anywhere", () => {
    const version = JSON.parse(fs.readFileSync(path.join(repo, "runner/package.json"), "utf8")).version as string;
    expect(execFileSync(path.join(repo, "owui-backup"), ["--version"], { cwd: repo, encoding: "utf8" }).trim()).toBe(version);
    expect(execFileSync(path.join(repo, "owui-backup"), ["--version"], { cwd: os.tmpdir(), encoding: "utf8" }).trim()).toBe(version);
    expect(execFileSync(process.execPath, [path.join(repo, "runner/bin/owui-backup.js"), "--version"], { cwd: os.tmpdir(), encoding: "utf8" }).trim()).toBe(version);
    expect(fs.readFileSync(path.join(repo, "README.md"), "utf8")).toContain("./owui-backup restore latest");
  });
});

describe("the README, for people", () => {
  const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");
  const headings = readme.split("\n").map((l, i) => [l, i + 1] as const).filter(([l]) => /^## /.test(l));

  it("is ordered for users: what it is, the two commands, how to restore, everyday commands, configuration", () => {
    const order = headings.map(([l]) => l);
    const at = (title: string) => order.findIndex((h) => h.startsWith(title));
    expect(at("## Quick start")).toBe(0);
    expect(at("## How to restore")).toBe(1);
    expect(at("## Everyday commands")).toBeGreaterThan(at("## How to restore"));
    expect(at("## Configuration")).toBeGreaterThan(at("## Everyday commands"));
    expect(headings.find(([l]) => l === "## How to restore")![1]).toBeLessThan(60);
    expect(readme).toMatch(/npm ci[^\n]*\n[^\n]*\nnpm run up/);
  });

  it("uses no internal words, and documents list --json as it prints", async () => {
    expect(readme).not.toMatch(/\bseed\b|seed scripts/i);
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-readme-"));
    await writeSyntheticSnapshot(new LocalStore(store), { createdAt: "2025-06-01T02:00:00Z" });
    const printed = JSON.parse((await runCli(["list", "--json"], { OWUI_BACKUP_STORE: store })).stdout)[0] as Record<string, unknown>;
    const documented = /owui-backup list \[--json\][^\n]*?JSON: `\[\{([^}]*)\}\]`/.exec(readme)?.[1]?.split(",").map((k) => k.trim());
    expect(documented?.sort()).toEqual(Object.keys(printed).sort());
    fs.rmSync(store, { recursive: true, force: true });
  });

  it("says how long the tests take and how to run the unit tests alone", () => {
    expect(readme).toMatch(/npm test .*~\d+ minutes/);
    expect(readme).toContain("npm run test:unit");
  });
});
