import type Docker from "dockerode";
import { archiveNames } from "../archive/archive-names.js";
import { statPath } from "../docker/archive.js";
import { isMounted, type ContainerInfo } from "../docker/container.js";
import { FailureError } from "../errors.js";

/**
 * What Open WebUI keeps in a container: its data volume (chats, uploads, vector DB, cache), Ollama's
 * models when bundled, customised static files, and the secret key it writes outside the data volume
 * when WEBUI_SECRET_KEY is unset (losing it logs every user out).
 */
export const DEFAULT_PATHS = [
  "/app/backend/data",
  "/root/.ollama",
  "/app/backend/static",
  "/app/backend/open_webui/static",
  "/app/backend/.webui_secret_key",
] as const;

export interface PlannedPath {
  path: string;
  explicit: boolean;
  present: boolean;
  type?: "directory" | "file";
  mounted: boolean;
  archiveName: string;
}

/**
 * Checks which paths exist. A missing default path is noted; a missing path the user asked for is an
 * error, unless `missing: "skip"` (a restore's safety snapshot of the paths it is about to change).
 */
export async function planPaths(
  docker: Docker,
  info: ContainerInfo,
  explicitPaths?: string[],
  options: { missing?: "error" | "skip" } = {},
): Promise<PlannedPath[]> {
  const paths = explicitPaths && explicitPaths.length > 0 ? explicitPaths : [...DEFAULT_PATHS];
  const explicit = Boolean(explicitPaths && explicitPaths.length > 0);
  const names = archiveNames(paths);
  const planned: PlannedPath[] = [];
  for (const path of paths) {
    const stat = await statPath(docker, info.Id, path);
    if (!stat && explicit && options.missing !== "skip") {
      throw new FailureError(`path ${path} does not exist in container ${info.Name.replace(/^\//, "")}; check --path / OWUI_BACKUP_PATHS`);
    }
    planned.push({
      path,
      explicit,
      present: Boolean(stat),
      ...(stat ? { type: stat.isDirectory ? ("directory" as const) : ("file" as const) } : {}),
      mounted: isMounted(info, path),
      archiveName: names.get(path) as string,
    });
  }
  return planned;
}
