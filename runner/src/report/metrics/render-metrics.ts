import { readCatalog, storedBytes } from "../../snapshot/catalog.js";
import { newBytesOf } from "../../snapshot/manifest.js";
import { readDrills } from "../../state/drills.js";
import { readRunState } from "../../state/run-state.js";
import type { Store } from "../../store/store.js";

/** A Prometheus label value: backslash, quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels: Record<string, string>; value: number }[];
}

/**
 * The store's state as Prometheus text exposition: per container (label `container`) and store (label
 * `store`, its display form: a path or s3://bucket/prefix, never a credential). The same text is the
 * metrics file and the watcher's /metrics.
 */
export async function renderMetrics(store: Store): Promise<string> {
  const catalog = await readCatalog(store);
  // Containers with snapshots, and those with only a run state (every backup so far failed): their failures count too.
  const withState: string[] = [];
  for await (const object of store.list("state/")) {
    const name = /^state\/([^/]+)\.json$/.exec(object.key)?.[1];
    if (name && !name.endsWith(".pending")) withState.push(name);
  }
  const containers = [...new Set([...catalog.snapshots.map((s) => s.container.name), ...withState])].sort();
  const families: Record<string, Family> = {};
  const add = (name: string, type: Family["type"], help: string, labels: Record<string, string>, value: number | undefined) => {
    if (value === undefined || !Number.isFinite(value)) return;
    (families[name] ??= { name, help, type, samples: [] }).samples.push({ labels, value });
  };
  const storeLabel = store.location;
  for (const container of containers) {
    const labels = { container, store: storeLabel };
    const mine = catalog.snapshots.filter((s) => s.container.name === container);
    const state = await readRunState(store, container);
    const last = mine[0];
    const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
    add("owui_backup_snapshots", "gauge", "Complete snapshots of the container in the store.", labels, mine.length);
    add("owui_backup_last_success_timestamp_seconds", "gauge", "When the newest snapshot was finished (Unix time).", labels, seconds(state.lastSuccess?.at) ?? seconds(last?.createdAt));
    add("owui_backup_last_failure_timestamp_seconds", "gauge", "When a backup last failed (Unix time); absent when none has.", labels, seconds(state.lastFailure?.at));
    add("owui_backup_last_duration_seconds", "gauge", "How long the last successful backup took.", labels, state.lastSuccess?.durationMs !== undefined ? state.lastSuccess.durationMs / 1000 : undefined);
    add("owui_backup_last_new_bytes", "gauge", "Bytes the newest snapshot added to the store.", labels, last ? newBytesOf(last) : undefined);
    add("owui_backup_last_stored_bytes", "gauge", "Bytes the newest snapshot is made of (what a restore reads).", labels, last?.sizeBytes);
    add("owui_backup_failures_total", "counter", "Failed backups since the store first saw the container.", labels, state.failures ?? 0);
    const drill = (await readDrills(store, container)).at(-1);
    add("owui_backup_last_drill_success", "gauge", "1 when the last restore drill passed, 0 when it failed; absent before the first.", labels, drill ? (drill.ok ? 1 : 0) : undefined);
    add("owui_backup_last_drill_timestamp_seconds", "gauge", "When the last restore drill ran (Unix time).", labels, seconds(drill?.at));
  }
  add("owui_backup_store_bytes", "gauge", "Bytes the store holds: snapshots and chunks.", { store: storeLabel }, await storedBytes(store, catalog));
  return Object.values(families)
    .map((f) => {
      const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
      for (const s of f.samples) {
        const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${label(v)}"`).join(",");
        lines.push(`${f.name}{${labels}} ${s.value}`);
      }
      return lines.join("\n");
    })
    .join("\n")
    .concat("\n");
}
