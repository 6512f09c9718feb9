import { afterEach, describe, expect, it, vi } from "vitest";
import { parseTarget } from "../../../runner/src/report/notify/targets.js";
import type { RunReport } from "../../../runner/src/report/run-report.js";

const report: RunReport = {
  command: "backup",
  trigger: "schedule",
  container: "open-webui",
  store: "/srv/owui",
  snapshot: null,
  status: "failed",
  error: "container open-webui not found",
  startedAt: "2026-11-30T02:00:00.000Z",
  durationMs: 1200,
  bytes: null,
  warnings: [],
  host: "h",
  toolVersion: "0.1.0",
  logTail: [],
};

/** The URL each scheme posts to (fetch stubbed: unit level; the real peers are in test/e2e/notify.test.ts). */
async function postedTo(raw: string, status: RunReport["status"] = "failed", extra: Partial<RunReport> = {}): Promise<string[]> {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (url: string) => {
    calls.push(url);
    return new Response("ok", { status: 200 });
  });
  const target = parseTarget(raw);
  await target.reporter.start?.({ command: extra.command ?? "backup", container: "open-webui" }, AbortSignal.timeout(1000));
  await target.reporter.report({ ...report, status, ...extra }, AbortSignal.timeout(1000));
  return calls;
}

describe("notification URLs (Apprise's schemes)", () => {
  afterEach(() => vi.unstubAllGlobals());

  it.each([
    ["json://hooks.lan:8080/owui?x=1", ["http://hooks.lan:8080/owui?x=1"]],
    ["jsons://hooks.lan/owui", ["https://hooks.lan/owui"]],
    ["ntfy://owui-alerts", ["https://ntfy.sh/owui-alerts"]],
    ["ntfys://ntfy.lan/owui-alerts", ["https://ntfy.lan/owui-alerts"]],
    ["discord://1234/tok", ["https://discord.com/api/webhooks/1234/tok"]],
    ["https://discord.com/api/webhooks/1234/tok", ["https://discord.com/api/webhooks/1234/tok"]],
    ["slack://T0/B0/tok", ["https://hooks.slack.com/services/T0/B0/tok"]],
    ["gotifys://gotify.lan/AbC", ["https://gotify.lan/message?token=AbC"]],
    ["hc://0b6e1f8a-uuid", ["https://hc-ping.com/0b6e1f8a-uuid/start", "https://hc-ping.com/0b6e1f8a-uuid/fail"]],
    ["hcs://hc.lan/ping/0b6e1f8a-uuid", ["https://hc.lan/ping/0b6e1f8a-uuid/start", "https://hc.lan/ping/0b6e1f8a-uuid/fail"]],
    ["https://hc-ping.com/0b6e1f8a-uuid", ["https://hc-ping.com/0b6e1f8a-uuid/start", "https://hc-ping.com/0b6e1f8a-uuid/fail"]],
  ])("%s posts to %j", async (raw, expected) => {
    expect(await postedTo(raw)).toEqual(expected);
  });

  it("a health check is pinged on success too (the plain URL); others only as --notify-on says", async () => {
    expect(await postedTo("hc://0b6e1f8a-uuid", "ok", { snapshot: "20261130_020000" })).toEqual(["https://hc-ping.com/0b6e1f8a-uuid/start", "https://hc-ping.com/0b6e1f8a-uuid"]);
    // It watches backups: a backup that took no snapshot (check --backup with nothing to do) and a good prune are not successes.
    expect(await postedTo("hc://0b6e1f8a-uuid", "ok")).toEqual(["https://hc-ping.com/0b6e1f8a-uuid/start"]);
    expect(await postedTo("hc://0b6e1f8a-uuid", "ok", { command: "prune" })).toEqual([]);
    expect(await postedTo("hc://0b6e1f8a-uuid", "failed", { command: "restore" })).toEqual([]);
    expect(parseTarget("hc://0b6e1f8a-uuid").everyRun).toBe(true);
    expect(parseTarget("ntfy://t").everyRun).toBe(false);
  });
});

describe("a health check's /fail body", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("carries the run's last log lines under the message", async () => {
    const { createLogger } = await import("../../../runner/src/log.js");
    const { RunReporting } = await import("../../../runner/src/report/run-reporting.js");
    const { LocalStore } = await import("../../../runner/src/store/local/local-store.js");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const bodies: { url: string; body: string }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: { body: string }) => {
      bodies.push({ url, body: init.body });
      return new Response("ok", { status: 200 });
    });
    const log = createLogger({ level: "error" });
    for (let i = 1; i <= 25; i++) log.info(`step ${i}`);
    log.warn("the store is slow");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-hc-"));
    const reporting = new RunReporting({ command: "backup", container: "open-webui", store: dir, trigger: "schedule" }, { notify: ["hc://0b6e1f8a-uuid"], notifyOn: "failure", metricsFile: undefined }, new LocalStore(dir), log);
    await reporting.finished("failed", new Error("disk on fire"), 1);
    const fail = bodies.find((b) => b.url.endsWith("/fail"))!;
    expect(fail.body).toContain("FAILED: disk on fire");
    const tail = fail.body.split("last log lines:\n")[1]!.trim().split("\n");
    expect(tail).toHaveLength(20);
    expect(tail[0]).toBe("step 7");
    expect(tail.at(-1)).toBe("warn: the store is slow");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
