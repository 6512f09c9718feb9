import { spawnSync } from "node:child_process";

/**
 * True when a suite should skip because a host tool is missing (a developer machine without cron, say).
 * In CI a missing tool is a failure, never a silent skip: .ci/run installs them.
 */
export function skipWithout(tools: string[], options: { root?: boolean } = {}): boolean {
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  const notRoot = options.root === true && process.getuid?.() !== 0;
  if (missing.length === 0 && !notRoot) return false;
  const why = [missing.length ? `missing ${missing.join(", ")}` : "", notRoot ? "not root" : ""].filter(Boolean).join(" and ");
  if (process.env.CI) throw new Error(`CI is set but this suite cannot run here: ${why}`);
  return true;
}
