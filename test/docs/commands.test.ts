import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

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
