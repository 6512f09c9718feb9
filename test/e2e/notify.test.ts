import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { runCli, startCli } from "../helpers/cli.js";
import { startHttpPeer, startSmtpPeer } from "../helpers/peers.js";
import { skipWithout } from "../helpers/tools.js";
import { docker, removeFixture, startFixture, waitFor, type Fixture } from "./fixture.js";

/** Notifications, health-check pings and the metrics file, against real HTTP and SMTP peers on 127.0.0.1. */
describe.skipIf(requireDockerOrSkip())("after a run: notifications, health checks, metrics", () => {
  let fixture: Fixture;
  let web: Awaited<ReturnType<typeof startHttpPeer>>;
  let smtp: Awaited<ReturnType<typeof startSmtpPeer>>;
  const TOKEN = "tk-SECRET-41";
  const PASSWORD = "pw-SECRET-42";
  let urls: Record<string, string>;

  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    web = await startHttpPeer({ "/broken": 500, "/hang": "hang" });
    smtp = await startSmtpPeer();
    const at = `127.0.0.1:${web.port}`;
    urls = {
      json: `json://${at}/hook?key=${TOKEN}`,
      ntfy: `ntfy://${at}/owui-alerts`,
      discord: `http://${at}/api/webhooks/123/${TOKEN}`,
      slack: `http://${at}/services/T0/B0/${TOKEN}`,
      gotify: `gotify://${at}/${TOKEN}`,
      hc: `hc://${at}/ping/5f1c-${TOKEN}`,
      // A plain local relay: allowed explicitly (with a login, STARTTLS is otherwise required).
      mail: `mailto://ops:${PASSWORD}@127.0.0.1:${smtp.port}?to=ops@example.com&from=backup@example.com&insecure=1`,
    };
  });
  afterAll(async () => {
    if (fixture) removeFixture(fixture);
    await web?.close();
    await smtp?.close();
  });

  const notifyEnv = () => ({ ...fixture.env, OWUI_BACKUP_NOTIFY: Object.values(urls).join(" ") });
  const paths = () => web.requests.map((r) => r.url.replace(/\?.*$/, ""));
  const reset = () => {
    web.requests.length = 0;
    smtp.mails.length = 0;
  };

  it("a backup of a container that is not there: one failure notification per channel, with the one-line error; no secret anywhere", async () => {
    reset();
    const run = await runCli(["backup", "--container", "no-such-owui"], notifyEnv());
    expect(run.code).toBe(1);
    const error = run.stderr.trim().split("\n").at(-1)!.replace(/^owui-backup: error: /, "");
    expect(error).toMatch(/^container no-such-owui not found/);
    expect(paths().sort()).toEqual(
      ["/hook", "/owui-alerts", "/api/webhooks/123/" + TOKEN, "/services/T0/B0/" + TOKEN, "/message", `/ping/5f1c-${TOKEN}/start`, `/ping/5f1c-${TOKEN}/fail`].sort(),
    );
    const by = (p: string) => web.requests.find((r) => r.url.startsWith(p))!;
    const json = JSON.parse(by("/hook").body);
    expect(json).toMatchObject({ event: "backup.failed", status: "failed", command: "backup", trigger: "manual", container: "no-such-owui", snapshot: null, error, host: os.hostname() });
    expect(Object.keys(json).sort()).toEqual(["at", "bytes", "command", "container", "durationMs", "error", "event", "host", "snapshot", "status", "store", "trigger", "version", "warnings"]);
    expect(by("/hook").url).toBe(`/hook?key=${TOKEN}`);
    expect(by("/owui-alerts").headers.priority).toBe("high");
    expect(by("/owui-alerts").body).toContain(error);
    expect(JSON.parse(by("/api/webhooks/").body).content).toContain(error);
    expect(JSON.parse(by("/services/").body).text).toContain(error);
    expect(by("/message").url).toBe(`/message?token=${TOKEN}`);
    expect(JSON.parse(by("/message").body)).toMatchObject({ priority: 8 });
    expect(by(`/ping/5f1c-${TOKEN}/fail`).body).toContain(error);
    expect(by(`/ping/5f1c-${TOKEN}/fail`).body).toContain("\nlast log lines:\n");
    // The mail, through a real SMTP server, logged in.
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ from: "backup@example.com", to: ["ops@example.com"], user: "ops" });
    expect(smtp.mails[0]!.data).toMatch(/Subject: owui-backup: backup \(manual\) of no-such-owui on .* FAILED/);
    // The body is quoted-printable: soft line breaks are "=" at a line's end.
    expect(smtp.mails[0]!.data.replace(/=\r?\n/g, "")).toContain(error);
    // Secrets: not in the output, not in the logs.
    const logs = fs.readdirSync(path.join(fixture.store, "logs")).map((f) => fs.readFileSync(path.join(fixture.store, "logs", f), "utf8")).join("");
    for (const text of [run.stdout, run.stderr, logs]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(PASSWORD);
    }
  });

  it("a successful backup: only the health check hears of it (start, success) unless --notify-on always", async () => {
    reset();
    const ok = await runCli(["backup"], notifyEnv());
    expect(ok.code, ok.stderr).toBe(0);
    expect(paths()).toEqual([`/ping/5f1c-${TOKEN}/start`, `/ping/5f1c-${TOKEN}`]);
    expect(smtp.mails).toHaveLength(0);
    reset();
    const always = await runCli(["backup", "--notify-on", "always"], notifyEnv());
    expect(always.code, always.stderr).toBe(0);
    const id = always.stdout.trim().split("\n").at(-1)!;
    expect(paths()).toHaveLength(7);
    expect(JSON.parse(web.requests.find((r) => r.url.startsWith("/hook"))!.body)).toMatchObject({ event: "backup.ok", snapshot: id, error: null });
    expect(smtp.mails).toHaveLength(1);
  });

  it("the watcher's backups are reported too (trigger watch)", async () => {
    reset();
    const watcher = startCli(["watch", "--interval", "1h", "--debounce", "1s", "--min-gap", "0", "--listen", "off", "--notify-on", "always"], {
      ...fixture.env,
      OWUI_BACKUP_NOTIFY: urls.json!,
    });
    try {
      await waitFor("the watcher's baseline", () => /baseline|watching/.test(watcher.stderrSoFar()), 30_000, 50);
      await new Promise((r) => setTimeout(r, 1500));
      docker("restart", "-t", "1", fixture.name);
      await waitFor("a notification", () => web.requests.length > 0, 60_000, 100);
      const body = JSON.parse(web.requests[0]!.body);
      expect(body).toMatchObject({ event: "backup.ok", command: "backup", trigger: "watch", container: fixture.name });
      expect(body.snapshot).toMatch(/^\d{8}_\d{6}$/);
    } finally {
      watcher.kill("SIGTERM");
      await watcher.result;
    }
  });

  it("mailto with a login never sends the password without TLS: a server that offers no STARTTLS gets no mail", async () => {
    reset();
    const run = await runCli(["backup", "--container", "no-such-owui", "--notify", `mailto://ops:${PASSWORD}@127.0.0.1:${smtp.port}?to=ops@example.com`], fixture.env);
    expect(run.code).toBe(1);
    expect(smtp.mails).toHaveLength(0);
    expect(run.stderr).toMatch(/warn: notification \(mail\): .*STARTTLS/i);
    expect(run.stderr).not.toContain(PASSWORD);
  });

  it("an unwritable store: exactly one failure notification, carrying that error", async () => {
    reset();
    const run = await runCli(["backup", "--store", "/etc/hostname/store"], { ...fixture.env, OWUI_BACKUP_NOTIFY: urls.json!, OWUI_BACKUP_LOG_DIR: fixture.store });
    expect(run.code).toBe(1);
    expect(web.requests).toHaveLength(1);
    expect(JSON.parse(web.requests[0]!.body).error).toMatch(/^store \/etc\/hostname\/store is not writable \(ENOTDIR\)/);
  });

  it("an endpoint that hangs or answers 500 delays the run by at most its timeout and never changes the exit code", async () => {
    reset();
    const at = `127.0.0.1:${web.port}`;
    const started = Date.now();
    const run = await runCli(["backup", "--notify-on", "always", "--notify", `json://${at}/hang`, "--notify", `json://${at}/broken?key=${TOKEN}`], fixture.env);
    const ms = Date.now() - started;
    expect(run.code, run.stderr).toBe(0);
    console.log(`backup with a hanging and a failing endpoint: ${ms} ms`);
    expect(ms).toBeLessThan(10_000 + 8_000);
    expect(run.stderr).toMatch(/warn: notification \(json\): no answer within 10 s/);
    expect(run.stderr).toMatch(/warn: notification \(json\): the endpoint answered HTTP 500/);
    expect(run.stderr).not.toContain(TOKEN);
  });

  it("a bad notify URL is a usage error naming the scheme, not the URL, and nothing runs", async () => {
    for (const [url, message] of [
      [`ftp://u:${PASSWORD}@host/x`, /^owui-backup: error: a --notify URL with scheme ftp: not supported; use json, ntfy, discord, slack, gotify, mailto, hc/],
      [`https://example.com/${TOKEN}`, /^owui-backup: error: a --notify URL with scheme https: not a Discord, Slack or Healthchecks URL; for a JSON webhook write json:\/\/ or jsons:\/\//],
      [`mailto://smtp.example.com`, /^owui-backup: error: a --notify URL with scheme mailto: needs \?to=address/],
    ] as const) {
      const before = fs.readdirSync(path.join(fixture.store, "snapshots")).length;
      const run = await runCli(["backup", "--notify", url], fixture.env);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr.trim()).toMatch(message);
      expect(run.stderr).not.toContain(PASSWORD);
      expect(run.stderr).not.toContain(TOKEN);
      expect(fs.readdirSync(path.join(fixture.store, "snapshots"))).toHaveLength(before);
    }
  });

  it.skipIf(skipWithout(["promtool"]))("--metrics-file: the store's state in Prometheus text format that promtool accepts, written after every run", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "owui-metrics-")), "owui_backup.prom");
    const ok = await runCli(["backup", "--metrics-file", file], fixture.env);
    expect(ok.code, ok.stderr).toBe(0);
    const text = fs.readFileSync(file, "utf8");
    execFileSync("promtool", ["check", "metrics"], { input: text });
    const value = (name: string) => Number(new RegExp(`^${name}\\{container="${fixture.name}",store="[^"]+"\\} (\\S+)$`, "m").exec(text)?.[1]);
    const snapshots = fs.readdirSync(path.join(fixture.store, "snapshots")).length;
    expect(value("owui_backup_snapshots")).toBe(snapshots);
    expect(Math.abs(value("owui_backup_last_success_timestamp_seconds") - Date.now() / 1000)).toBeLessThan(60);
    expect(value("owui_backup_last_duration_seconds")).toBeGreaterThan(0);
    expect(value("owui_backup_failures_total")).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^owui_backup_store_bytes\{store="[^"]+"\} \d+$/m);
    // A failure counts.
    const before = value("owui_backup_failures_total");
    expect((await runCli(["backup", "--path", "/no/such", "--metrics-file", file], fixture.env)).code).toBe(1);
    const after = Number(new RegExp(`^owui_backup_failures_total\\{container="${fixture.name}",store="[^"]+"\\} (\\S+)$`, "m").exec(fs.readFileSync(file, "utf8"))?.[1]);
    expect(after).toBe(before + 1);
    // A container whose every backup failed so far still has its series (an alert on failures can fire).
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "owui-metrics-store-"));
    expect((await runCli(["backup", "--path", "/no/such", "--metrics-file", file], { ...fixture.env, OWUI_BACKUP_STORE: fresh })).code).toBe(1);
    const failedOnly = fs.readFileSync(file, "utf8");
    execFileSync("promtool", ["check", "metrics"], { input: failedOnly });
    expect(failedOnly).toMatch(new RegExp(`^owui_backup_failures_total\\{container="${fixture.name}",store="${fresh}"\\} 1$`, "m"));
    expect(failedOnly).toMatch(new RegExp(`^owui_backup_snapshots\\{container="${fixture.name}",store="${fresh}"\\} 0$`, "m"));
    fs.rmSync(fresh, { recursive: true, force: true });
  });
});
