import type Docker from "dockerode";
import { FailureError } from "../errors.js";

export const HELPER_LABEL = "owui-backup.helper";

/**
 * Runs a shell script in a short-lived container made from `image` that shares the volumes and bind
 * mounts of `volumesFrom` (as `docker run --volumes-from`). Used while the target container is stopped,
 * when nothing can be exec'd in it. No network; removed afterwards whatever happens.
 */
export async function runHelperContainer(
  docker: Docker,
  options: { image: string; volumesFrom: string; script: string; args: string[]; env?: string[] },
): Promise<void> {
  const helper = await docker.createContainer({
    Image: options.image,
    Entrypoint: ["/bin/sh", "-c", options.script, "owui-backup-helper", ...options.args],
    Cmd: [],
    Env: options.env ?? [],
    User: "0:0",
    Labels: { [HELPER_LABEL]: "true" },
    NetworkDisabled: true,
    HostConfig: { VolumesFrom: [options.volumesFrom], NetworkMode: "none", AutoRemove: false },
  });
  try {
    await helper.start();
    const result = (await helper.wait()) as { StatusCode: number };
    if (result.StatusCode !== 0) {
      const logs = (await helper.logs({ stdout: true, stderr: true, tail: 5 })) as unknown as Buffer;
      const text = logs.toString("utf8").replace(/[\x00-\x08]/g, "").trim().split("\n").pop() ?? "";
      throw new FailureError(`helper container exited with ${result.StatusCode}: ${text}`);
    }
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}
