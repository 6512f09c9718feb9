import { MANIFEST_FORMAT, type Manifest, type Trigger } from "../../runner/src/snapshot/manifest.js";
import { layout } from "../../runner/src/store/layout.js";
import { jsonBody, type Store } from "../../runner/src/store/store.js";

/** A snapshot with a valid manifest and no archives, for tests of catalog and retention. */
export async function writeSyntheticSnapshot(
  store: Store,
  options: { createdAt: string; container?: string; trigger?: Trigger; id?: string },
): Promise<Manifest> {
  const created = new Date(options.createdAt);
  const id = options.id ?? created.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    id,
    tool: { name: "owui-backup", version: "0.0.0-test" },
    trigger: options.trigger ?? "schedule",
    createdAt: created.toISOString(),
    startedAt: created.toISOString(),
    finishedAt: created.toISOString(),
    container: { name: options.container ?? "open-webui", id: "c0ffee", state: "running" },
    image: { reference: "open-webui:test", id: "sha256:beef" },
    consistency: "online",
    compression: "gzip",
    paths: [],
    objects: [],
    external: [],
    sizeBytes: 0,
    files: 0,
  };
  await store.put(layout.owner(id), jsonBody({ pid: 1, host: "test", since: manifest.createdAt, command: "test" }));
  await store.put(layout.manifest(id), jsonBody(manifest));
  return manifest;
}
