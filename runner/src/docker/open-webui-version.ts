import type Docker from "dockerode";
import { openFileEntry } from "./file-entry.js";

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/;

/**
 * The Open WebUI version an image carries: the OCI version label its release images have, else the
 * `version` of /app/package.json (which Open WebUI itself reads at start) when a container is given.
 */
export async function openWebuiVersion(
  docker: Docker,
  image: { labels?: Record<string, string> | null; env?: string[] | null },
  container?: string,
): Promise<string | undefined> {
  const label = image.labels?.["org.opencontainers.image.version"];
  if (label && SEMVER.test(label)) return label.replace(/^v/, "");
  for (const variable of ["OPEN_WEBUI_VERSION", "WEBUI_VERSION"]) {
    const value = image.env?.find((e) => e.startsWith(`${variable}=`))?.slice(variable.length + 1);
    if (value && SEMVER.test(value)) return value.replace(/^v/, "");
  }
  if (!container) return undefined;
  try {
    const entry = await openFileEntry(docker, container, "/app/package.json");
    if (!entry || (entry.header.size ?? 0) > 1 << 20) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of entry.body) chunks.push(chunk);
    const version = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { version?: unknown }).version;
    return typeof version === "string" && SEMVER.test(version) ? version.replace(/^v/, "") : undefined;
  } catch {
    return undefined;
  }
}

/** -1, 0 or 1 as a is older, equal or newer than b (major.minor.patch only). */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) return 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
