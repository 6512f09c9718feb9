import Docker from "dockerode";
import { FailureError } from "../errors.js";

/** A Docker Engine API client for DOCKER_HOST (or the local socket), as the docker CLI would use. */
export function createDockerClient(): Docker {
  return new Docker();
}

/** Turns "cannot connect" errors into one line that says where Docker was looked for. */
export function dockerUnreachable(err: unknown): FailureError | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = process.env.DOCKER_HOST || "/var/run/docker.sock";
  if (code === "EACCES" || code === "EPERM") {
    return new FailureError(
      `no permission to use the Docker socket ${where} (${code}): run as root, or add this user to the docker group (sudo usermod -aG docker $USER, then log in again)`,
    );
  }
  if (code === "ECONNREFUSED" || code === "ENOENT" || code === "ETIMEDOUT" || code === "EHOSTUNREACH") {
    return new FailureError(`cannot reach the Docker daemon at ${where} (${code}): is Docker running? set DOCKER_HOST if it lives elsewhere`);
  }
  return undefined;
}

/** HTTP status of an engine API error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/** For start/stop/unpause: "already in that state" (HTTP 304) is success. */
export function ignoreNotModified(err: unknown): void {
  if (statusOf(err) === 304) return;
  throw err;
}
