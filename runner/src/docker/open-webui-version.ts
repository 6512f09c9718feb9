import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { readArchive } from "./archive.js";

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
    const text = await readSingleFile(await readArchive(docker, container, "/app/package.json"), 1 << 20);
    const version = (JSON.parse(text) as { version?: unknown }).version;
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

async function readSingleFile(archive: Readable, limit: number): Promise<string> {
  const extract = tar.extract();
  pipeline(archive, extract as unknown as NodeJS.WritableStream).catch(() => undefined);
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry) {
        size += (chunk as Buffer).length;
        if (size > limit) throw new Error("file too large");
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString("utf8");
    }
    throw new Error("empty archive");
  } finally {
    // The engine keeps the container locked until an archive stream is closed.
    archive.destroy();
  }
}
