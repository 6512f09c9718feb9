import { formatBytes } from "../../util/format.js";
import type { SnapshotPoint, StatusData } from "./status-data.js";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Bars for one series over the snapshot history, as inline SVG (no script, no external asset). */
function chart(id: string, title: string, points: SnapshotPoint[], value: (p: SnapshotPoint) => number, label: (v: number) => string): string {
  const width = 720;
  const height = 140;
  const max = Math.max(1, ...points.map(value));
  const step = points.length > 0 ? width / points.length : width;
  const bars = points
    .map((p, i) => {
      const h = Math.max(1, Math.round((value(p) / max) * (height - 20)));
      return `<rect data-id="${escape(p.id)}" x="${(i * step + 1).toFixed(1)}" y="${height - h}" width="${Math.max(1, step - 2).toFixed(1)}" height="${h}"><title>${escape(p.id)}: ${escape(label(value(p)))}</title></rect>`;
    })
    .join("");
  return `<figure id="${id}"><figcaption>${escape(title)} <small>(max ${escape(label(max))})</small></figcaption><svg viewBox="0 0 ${width} ${height}" width="100%" height="${height}" role="img" aria-label="${escape(title)}">${bars}</svg></figure>`;
}

function inHours(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The read-only status page: plain HTML with inline CSS and SVG, nothing fetched, no secret shown. */
export function renderStatusPage(data: StatusData, health: { ok: boolean; why: string }, now = new Date()): string {
  const last = data.history.at(-1);
  const rows = [...data.history]
    .reverse()
    .slice(0, 20)
    .map(
      (p) =>
        `<tr><td>${escape(p.id)}${data.pinned?.id === p.id ? " <em>(pinned)</em>" : ""}</td><td>${escape(p.trigger)}${p.reason ? ` (${escape(p.reason)})` : ""}</td><td>${formatBytes(p.sizeBytes)}</td><td>${formatBytes(p.newBytes)}</td><td>${(p.durationMs / 1000).toFixed(1)} s</td></tr>`,
    )
    .join("");
  const failure = data.state.lastFailure;
  const drill = data.lastDrill;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>owui-backup: ${escape(data.container)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:780px;padding:0 1rem;color:#1d2330;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .2rem} .muted{color:#667}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600}
.ok{background:#d9f5df;color:#135c25} .bad{background:#fde0de;color:#8a1a12}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem} dt{color:#556}
figure{margin:1.2rem 0} figcaption{font-weight:600;margin-bottom:.3rem} svg{background:#fff;border:1px solid #dde}
#chart-size rect{fill:#5b7bd5} #chart-new rect{fill:#49a86a} #chart-duration rect{fill:#c98a2e}
table{border-collapse:collapse;width:100%;background:#fff} td,th{border-bottom:1px solid #e4e4ea;padding:.3rem .5rem;text-align:left}
</style></head><body>
<h1>owui-backup · ${escape(data.container)}</h1>
<p class="muted">store ${escape(data.store)} · ${data.snapshots} snapshots · as of ${escape(now.toISOString())}</p>
<p id="health"><span class="badge ${health.ok ? "ok" : "bad"}">${health.ok ? "healthy" : "NOT HEALTHY"}</span> ${escape(health.why)}</p>
<dl>
<dt>Last snapshot</dt><dd id="last-success">${last ? `${escape(last.id)} (${escape(last.trigger)}), ${formatBytes(last.sizeBytes)}` : "none yet"}</dd>
<dt>Last failure</dt><dd id="last-failure">${failure ? `${escape(failure.at)} (${escape(failure.trigger)}): <code>${escape(failure.error)}</code>` : "none"}</dd>
<dt>Schedule</dt><dd id="schedule">${data.schedule ? escape(data.schedule) : "not set by this runner (see your cron or timer)"}</dd>
${data.nextRun ? `<dt>Next run</dt><dd id="next-run">${escape(data.nextRun.toISOString())} (in ${escape(inHours(data.nextRun.getTime() - now.getTime()))})</dd>` : ""}
<dt>Pinned</dt><dd id="pinned">${data.pinned ? `${escape(data.pinned.id)} (${escape(data.pinned.reason)})` : "none"}</dd>
<dt>Last drill</dt><dd id="last-drill">${drill ? `${escape(drill.id)} at ${escape(drill.at)}: ${drill.ok ? "passed" : `FAILED (${escape(drill.failed.join("; "))})`}` : "none yet"}</dd>
</dl>
${chart("chart-size", "Snapshot size", data.history, (p) => p.sizeBytes, formatBytes)}
${chart("chart-new", "New bytes per snapshot", data.history, (p) => p.newBytes, formatBytes)}
${chart("chart-duration", "Duration", data.history, (p) => p.durationMs, (v) => `${(v / 1000).toFixed(1)} s`)}
<table id="history"><thead><tr><th>snapshot</th><th>trigger</th><th>size</th><th>new</th><th>took</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`;
}
