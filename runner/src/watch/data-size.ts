import type Docker from "dockerode";
import { runStateOf, type ContainerInfo } from "../docker/container.js";
import { execInContainer } from "../docker/exec.js";

/**
 * Bytes under the given paths, measured with `du -sk` inside the container (GNU and busybox both have
 * it; Open WebUI's image does). Undefined when the container is not running or has no du.
 */
export async function measureDataBytes(docker: Docker, info: ContainerInfo, paths: readonly string[]): Promise<number | undefined> {
  if (runStateOf(info) !== "running") return undefined;
  try {
    // Missing paths are skipped (du complains about them and still prints the others).
    const r = await execInContainer(docker, info.Id, ["sh", "-c", 'du -sk -- "$@" 2>/dev/null; exit 0', "du", ...paths]);
    const sizes = r.stdout.split("\n").map((line) => Number.parseInt(line.split(/\s/)[0] ?? "", 10)).filter(Number.isFinite);
    return sizes.length > 0 ? sizes.reduce((a, b) => a + b, 0) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
