import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStore } from "../../runner/src/store/local/local-store.js";
import { requireDockerOrSkip } from "../docker-available.js";
import { runCli, startCli } from "../helpers/cli.js";
import { writeSyntheticSnapshot } from "../helpers/synthetic.js";
import { skipWithout } from "../helpers/tools.js";
import { removeFixture, startFixture, waitFor, type Fixture } from "./fixture.js";

/** The watcher's status page, /metrics and /healthz, read by promtool and a real headless Chromium. */
const ARTIFACTS = path.resolve(import.meta.dirname, "../../test-artifacts");
const SECRET = "sk-SECRET-STATUS-7";

async function startWatcher(env: Record<string, string>, extra: string[] = []) {
  const watcher = startCli(["watch", "--interval", "1h", "--listen", "127.0.0.1:0", ...extra], env);
  let url = "";
  await waitFor("the status page", () => {
    url = /status page on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(watcher.stderrSoFar())?.[1] ?? "";
    return url !== "";
  }, 30_000, 50);
  return { url, stop: async () => (watcher.kill("SIGTERM"), await watcher.result) };
}

function chromium(args: string[]): string {
  return execFileSync("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-dev-shm-usage", ...args], {
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

describe.skipIf(requireDockerOrSkip() || skipWithout(["chromium", "promtool"]))("the status page, /metrics and /healthz", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0, env: { OPENAI_API_KEY: SECRET } });
    for (const trigger of ["manual", "schedule", "schedule"]) expect((await runCli(["backup", "--trigger", trigger], fixture.env)).code).toBe(0);
    expect((await runCli(["backup", "--path", "/no/such/path"], fixture.env)).code).toBe(1);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("renders history, the last failure and health; Chromium shows it (screenshot in test-artifacts/); no secret on it", async () => {
    const watcher = await startWatcher({
      ...fixture.env,
      OWUI_BACKUP_NOTIFY: `ntfy://127.0.0.1:1/${SECRET}`,
      OWUI_BACKUP_SCHEDULE: "daily at 02:00 and 5 min after boot",
      OWUI_BACKUP_SCHEDULE_AT: "02:00",
      OWUI_BACKUP_SCHEDULE_TZ: "UTC",
    });
    try {
      const html = await (await fetch(watcher.url)).text();
      expect(html).not.toContain(SECRET);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, "status-page.png");
      fs.rmSync(shot, { force: true });
      chromium([`--screenshot=${shot}`, "--window-size=900,1300", watcher.url]);
      expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
      const dom = chromium(["--dump-dom", watcher.url]);
      const snapshots = fs.readdirSync(path.join(fixture.store, "snapshots")).sort();
      // History: one bar per snapshot in each chart, one table row each, newest first.
      for (const chart of ["chart-size", "chart-new", "chart-duration"]) {
        const svg = new RegExp(`<figure id="${chart}">[\\s\\S]*?</figure>`).exec(dom)?.[0] ?? "";
        expect([...svg.matchAll(/data-id="(\d{8}_\d{6}(?:_\d+)?)"/g)].map((m) => m[1])).toEqual(snapshots);
      }
      const rows = [...(/<tbody>([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? "").matchAll(/<tr><td>(\d{8}_\d{6}(?:_\d+)?)/g)].map((m) => m[1]);
      expect(rows).toEqual([...snapshots].reverse());
      expect(dom).toMatch(/<dd id="last-failure">[^<]*\(manual\): <code>path \/no\/such\/path does not exist in container/);
      expect(dom).toMatch(/<span class="badge bad">NOT HEALTHY<\/span> the last backup failed at/);
      expect(dom).toContain('<dd id="schedule">daily at 02:00 and 5 min after boot</dd>');
      const next = new Date();
      if (next.getUTCHours() >= 2) next.setUTCDate(next.getUTCDate() + 1);
      expect(dom).toMatch(new RegExp(`<dd id="next-run">${next.toISOString().slice(0, 10)}T02:00:00\\.000Z \\(in \\d+ (h \\d+ )?min\\)</dd>`));
      expect(dom).not.toContain(SECRET);
      // /healthz agrees: the last backup failed.
      const healthz = await fetch(`${watcher.url}healthz`);
      expect(healthz.status).toBe(503);
      // Read-only.
      expect((await fetch(watcher.url, { method: "POST" })).status).toBe(405);
      // /metrics: what promtool accepts, the same series as the metrics file.
      const metrics = await (await fetch(`${watcher.url}metrics`)).text();
      execFileSync("promtool", ["check", "metrics"], { input: metrics });
      expect(metrics).toMatch(new RegExp(`^owui_backup_snapshots\\{container="${fixture.name}",store="[^"]+"\\} ${snapshots.length}$`, "m"));
      expect(metrics).toMatch(new RegExp(`^owui_backup_failures_total\\{container="${fixture.name}",store="[^"]+"\\} 1$`, "m"));
      expect(metrics).not.toContain(SECRET);
      // A good backup makes it healthy again.
      expect((await runCli(["backup", "--trigger", "schedule"], fixture.env)).code).toBe(0);
      expect((await fetch(`${watcher.url}healthz`)).status).toBe(200);
    } finally {
      await watcher.stop();
    }
  });

  it("/healthz turns 503 when the last scheduled backup is older than --healthy-within", async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-stale-"));
    await writeSyntheticSnapshot(new LocalStore(store), { createdAt: new Date(Date.now() - 30 * 3_600_000).toISOString(), container: fixture.name, trigger: "schedule" });
    const env = { ...fixture.env, OWUI_BACKUP_STORE: store };
    const stale = await startWatcher(env);
    try {
      const answer = await fetch(`${stale.url}healthz`);
      expect(answer.status).toBe(503);
      expect(await answer.text()).toMatch(/^unhealthy: the last scheduled backup \(\d{8}_\d{6}\) is 30 h old, more than 26 h\n$/);
    } finally {
      await stale.stop();
    }
    const lenient = await startWatcher(env, ["--healthy-within", "48h"]);
    try {
      expect((await fetch(`${lenient.url}healthz`)).status).toBe(200);
    } finally {
      await lenient.stop();
    }
    fs.rmSync(store, { recursive: true, force: true });
  });

  it("a port in use is a warning; the watcher keeps watching", async () => {
    const first = await startWatcher(fixture.env);
    const port = new URL(first.url).port;
    const second = startCli(["watch", "--interval", "1h", "--listen", `127.0.0.1:${port}`], fixture.env);
    try {
      await waitFor("the warning", () => second.stderrSoFar().includes("status page not served"), 30_000, 50);
      expect(second.stderrSoFar()).toMatch(new RegExp(`warn: status page not served on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      expect(second.exitCode).toBeNull();
    } finally {
      second.kill("SIGTERM");
      expect((await second.result).code).toBe(0);
      await first.stop();
    }
  });
});
