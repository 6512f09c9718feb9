import fsp from "node:fs/promises";
import path from "node:path";
import type { Store } from "../../store/store.js";
import type { Reporter } from "../reporters.js";
import { renderMetrics } from "./render-metrics.js";

/**
 * --metrics-file: after every run, the store's metrics in node_exporter's textfile format, written to
 * a temporary file in the same directory and renamed, so the collector never reads half a file.
 */
export function metricsFileReporter(file: string, store: Store): Reporter {
  return {
    name: `metrics file ${path.basename(file)}`,
    report: async () => {
      const text = await renderMetrics(store);
      const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
      try {
        await fsp.writeFile(temp, text, { mode: 0o644 });
        await fsp.rename(temp, file);
      } finally {
        await fsp.rm(temp, { force: true });
      }
    },
  };
}
