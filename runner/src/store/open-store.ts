import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";
import { LocalStore } from "./local/local-store.js";
import type { Store } from "./store.js";

/**
 * The one place that turns a store URL into a backend (restic's location registry).
 * A plain path or file:// URL is a local directory.
 */
export function openStore(url: string): Store {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(url)) return new LocalStore(resolveLocalPath(url));
  if (scheme === "file") return new LocalStore(resolveLocalPath(fileURLToPath(url)));
  if (scheme === "s3") throw new UsageError(`store ${url}: s3:// stores are not available in this version; use a directory`);
  throw new UsageError(`store ${url}: unknown scheme ${scheme}://; use a directory path or file:// URL`);
}

function resolveLocalPath(p: string): string {
  if (p === "~" || p.startsWith("~/")) p = path.join(os.homedir(), p.slice(1));
  return path.resolve(p);
}

/** The per-user default store directory, following each platform's convention for application data. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === "win32") {
    return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), "AppData", "Local"), "owui-backup");
  }
  if (platform === "darwin") return path.join(os.homedir(), "Library", "Application Support", "owui-backup");
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "owui-backup");
}
