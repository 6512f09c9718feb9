import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";
import { withoutUserInfo } from "../util/format.js";
import { hostDirectoryProblem } from "../util/container-paths.js";
import { LocalStore } from "./local/local-store.js";
import { createS3Client } from "./s3/s3-client.js";
import { parseS3Url, type S3Defaults } from "./s3/s3-location.js";
import { DEFAULT_S3_OPTIONS, S3Store } from "./s3/s3-store.js";
import type { Store } from "./store.js";

export interface StoreSettings {
  /** Endpoint, region and path style for s3:// URLs that do not set their own. */
  s3?: S3Defaults;
  /** Multipart part size for S3 uploads, in bytes. */
  s3PartSize?: number | undefined;
}

/**
 * The one place that turns a store URL into a backend (restic's location registry).
 * A plain path or file:// URL is a local directory; s3://BUCKET[/PREFIX] is a bucket. Opening makes
 * no request: a malformed URL or bucket name is a usage error before anything is sent.
 */
export function openStore(url: string, settings: StoreSettings = {}, env: NodeJS.ProcessEnv = process.env): Store {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(url)) return new LocalStore(resolveLocalPath(url));
  if (scheme === "file") return new LocalStore(resolveLocalPath(fileURLToPath(url)));
  if (scheme === "s3") {
    const where = parseS3Url(url, settings.s3, env);
    return new S3Store(where, createS3Client(where, env), { ...DEFAULT_S3_OPTIONS, partSize: settings.s3PartSize ?? DEFAULT_S3_OPTIONS.partSize });
  }
  throw new UsageError(`store ${withoutUserInfo(url)}: unknown scheme ${scheme}://; use a directory, file:// or s3:// URL`);
}

function resolveLocalPath(p: string): string {
  if (p === "~" || p.startsWith("~/")) p = path.join(os.homedir(), p.slice(1));
  const resolved = path.resolve(p);
  const problem = hostDirectoryProblem(resolved);
  if (problem) throw new UsageError(`store ${p}: ${problem}; pick another directory`);
  return resolved;
}

/** The per-user default store directory, following each platform's convention for application data. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === "win32") {
    return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), "AppData", "Local"), "owui-backup");
  }
  if (platform === "darwin") return path.join(os.homedir(), "Library", "Application Support", "owui-backup");
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "owui-backup");
}
