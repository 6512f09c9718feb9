import { execFileSync } from "node:child_process";

/** True when a Docker engine answers. Computed once per test file. */
export function dockerAvailable(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Integration suites skip without Docker on a developer machine, but in CI a missing engine is a
 * failure, never a silent skip.
 */
export function requireDockerOrSkip(): boolean {
  const available = dockerAvailable();
  if (!available && process.env.CI) {
    throw new Error("CI is set but no Docker engine answers `docker info`: the integration tests cannot run");
  }
  return !available;
}
