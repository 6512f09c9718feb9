import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../runner/bin/owui-backup.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built CLI as a user would run it, with a clean OWUI_BACKUP_* environment plus `env`. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { result: Promise<CliResult>; stderrSoFar: () => string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OWUI_BACKUP_")));
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const result = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { result, stderrSoFar: () => stderr });
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).result;
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

/**
 * Follows a running process's peak resident memory (the kernel's VmHWM high-water mark) until it
 * exits; resolves with the last reading in bytes (Linux only).
 */
export function followPeakRss(pid: number, everyMs = 100): { stop: () => number } {
  let peak = 0;
  const read = () => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      /* exited */
    }
  };
  const timer = setInterval(read, everyMs);
  read();
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
