import { UsageError } from "../../errors.js";
import type { Reporter } from "../reporters.js";
import { details, finishedAt, headline, message, type RunReport } from "../run-report.js";
import { post } from "./http-post.js";
import { mailReporter } from "./mail.js";

/**
 * Notification URLs, in Apprise's schemes where Apprise has one, so users can paste what they know:
 *
 *   json://host[:port]/path   jsons://…       POST of the run report as JSON (documented in the README)
 *   ntfy://topic  ntfy://host/topic  ntfys://…  a message to an ntfy topic (ntfy://topic: the public ntfy.sh)
 *   discord://ID/TOKEN, or the webhook URL     Discord webhook
 *   slack://A/B/C, or the hooks URL            Slack incoming webhook
 *   gotify://host/TOKEN  gotifys://…           Gotify message
 *   mailto://user:pass@smtp.host[:port]?to=…&from=…   mailtos:// (TLS from the start; mailto: STARTTLS)
 *   hc://UUID  hc://host/UUID  hcs://…, or a ping URL (…/ping/UUID, hc-ping.com/UUID)  Healthchecks
 *
 * The URL is a secret (tokens, passwords): errors name its scheme, never the URL.
 */
export interface Target {
  scheme: string;
  /** Health checks are told every run (start, success, failure); the others only what --notify-on asks for. */
  everyRun: boolean;
  reporter: Reporter;
}

const UUID_OR_SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{3,}$/;

export function parseTarget(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`a --notify value is not a URL (scheme://…); see the README, "Monitoring and notifications"`);
  }
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  const bad = (why: string): never => {
    throw new UsageError(`a --notify URL with scheme ${scheme}: ${why}`);
  };
  const secure = scheme.endsWith("s") && scheme !== "hc";
  const web = secure ? "https" : "http";
  const hostPort = url.host;
  const segments = url.pathname.split("/").filter(Boolean).map(safeDecode);
  const name = (label: string) => `notification (${label})`;
  switch (scheme) {
    case "json":
    case "jsons": {
      if (!hostPort) bad("needs a host");
      // fetch refuses URLs with credentials: they go into an Authorization header.
      const target = `${web}://${hostPort}${url.pathname}${url.search}`;
      const headers = { "content-type": "application/json", ...basicAuth(url) };
      return simple(scheme, name(scheme), (report, signal) => post(target, JSON.stringify(jsonBody(report)), headers, signal));
    }
    case "ntfy":
    case "ntfys": {
      const [server, topic] = segments.length === 0 ? [`https://ntfy.sh`, hostPort] : [`${web}://${hostPort}`, segments.join("/")];
      if (!topic) bad("needs a topic: ntfy://topic or ntfy://host/topic");
      const auth = basicAuth(url);
      return simple(scheme, name(scheme), (report, signal) =>
        post(`${server}/${encodeURIComponent(topic!)}`, message(report), {
          title: ascii(headline(report).slice(0, 120)),
          priority: report.status === "ok" ? "default" : "high",
          tags: report.status === "ok" ? "white_check_mark" : "warning",
          ...auth,
        }, signal),
      );
    }
    case "discord": {
      if (!hostPort || segments.length !== 1) bad("expected discord://WEBHOOK_ID/WEBHOOK_TOKEN");
      return discord(`https://discord.com/api/webhooks/${hostPort}/${segments[0]}`, scheme);
    }
    case "slack": {
      if (!hostPort || segments.length !== 2) bad("expected slack://TOKEN_A/TOKEN_B/TOKEN_C");
      return slack(`https://hooks.slack.com/services/${hostPort}/${segments.join("/")}`, scheme);
    }
    case "gotify":
    case "gotifys": {
      if (!hostPort || segments.length < 1) bad("expected gotify://host/TOKEN");
      const token = segments.pop()!;
      const base = `${web}://${hostPort}${segments.length ? `/${segments.join("/")}` : ""}`;
      return simple(scheme, name(scheme), (report, signal) =>
        post(`${base}/message?token=${encodeURIComponent(token)}`, JSON.stringify({ title: headline(report), message: message(report), priority: report.status === "ok" ? 2 : 8 }), { "content-type": "application/json" }, signal),
      );
    }
    case "mailto":
    case "mailtos":
      return { scheme, everyRun: false, reporter: mailReporter(url, scheme === "mailtos", bad) };
    case "hc":
    case "hcs": {
      // hc://UUID is the hosted service; hc://host/UUID (or a longer path) a self-hosted one.
      const base = segments.length === 0 ? `https://hc-ping.com/${hostPort}` : `${scheme === "hcs" ? "https" : "http"}://${hostPort}/${segments.join("/")}`;
      if (segments.length === 0 && !UUID_OR_SLUG.test(hostPort)) bad("expected hc://UUID or hc://host/UUID");
      return healthchecks(base, scheme);
    }
    case "http":
    case "https": {
      // Plain webhook URLs people copy from the service's page.
      if (/^\/api\/webhooks\/[^/]+\/[^/]+\/?$/.test(url.pathname)) return discord(raw, "discord");
      if (/^\/services\/[^/]+\/[^/]+\/[^/]+\/?$/.test(url.pathname)) return slack(raw, "slack");
      if (url.hostname === "hc-ping.com" || /\/ping\/[^/]+/.test(url.pathname)) return healthchecks(raw.replace(/\/+$/, ""), "healthchecks");
      return bad("not a Discord, Slack or Healthchecks URL; for a JSON webhook write json:// or jsons:// instead of http(s)://");
    }
    default:
      return bad("not supported; use json, ntfy, discord, slack, gotify, mailto, hc (or their secure forms)");
  }
}

function simple(scheme: string, label: string, send: (report: RunReport, signal: AbortSignal) => Promise<void>): Target {
  return { scheme, everyRun: false, reporter: { name: label, report: send } };
}

function discord(webhook: string, scheme: string): Target {
  return simple(scheme, "notification (discord)", (report, signal) =>
    post(webhook, JSON.stringify({ content: `${headline(report)}\n${details(report)}`.slice(0, 2000) }), { "content-type": "application/json" }, signal),
  );
}

function slack(webhook: string, scheme: string): Target {
  return simple(scheme, "notification (slack)", (report, signal) =>
    post(webhook, JSON.stringify({ text: `${headline(report)}\n${details(report)}` }), { "content-type": "application/json" }, signal),
  );
}

/** Healthchecks: /start when a run begins, the plain URL on success, /fail with the error on failure. */
function healthchecks(base: string, scheme: string): Target {
  // A check watches backups: only a backup that wrote a snapshot is a success, only a backup's failure
  // a failure (a prune or restore that went well must not turn a check whose backups fail green).
  const counts = (report: RunReport) => report.command === "backup" && (report.status !== "ok" || report.snapshot !== null);
  return {
    scheme,
    everyRun: true,
    reporter: {
      name: "health check ping",
      start: async (run, signal) => {
        if (run.command === "backup") await post(`${base}/start`, "", {}, signal);
      },
      report: async (report, signal) => {
        if (!counts(report)) return;
        // A failure's body: the message, then the run's last log lines (Healthchecks shows the body).
        const body = report.status === "ok" ? message(report) : `${message(report)}\nlast log lines:\n${report.logTail.join("\n")}\n`;
        await post(report.status === "ok" ? base : `${base}/fail`, body, { "content-type": "text/plain" }, signal);
      },
    },
  };
}

/** The documented body of json:// notifications. */
export function jsonBody(report: RunReport) {
  return {
    event: `${report.command}.${report.status}`,
    status: report.status,
    command: report.command,
    trigger: report.trigger,
    container: report.container,
    store: report.store,
    snapshot: report.snapshot,
    error: report.error,
    durationMs: report.durationMs,
    bytes: report.bytes,
    warnings: report.warnings,
    host: report.host,
    version: report.toolVersion,
    at: finishedAt(report),
  };
}


/** user:password of a URL as an HTTP Basic Authorization header; none without a user. */
function basicAuth(url: URL): Record<string, string> {
  if (!url.username) return {};
  return { authorization: `Basic ${Buffer.from(`${safeDecode(url.username)}:${safeDecode(url.password)}`).toString("base64")}` };
}

/** A malformed %-escape is kept as written (it would otherwise throw a URIError, not a usage error). */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** HTTP header values must be Latin-1; a headline may hold a path with other characters. */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/** A notify URL for logs and config errors: its scheme and host, nothing that could be a secret. */
export function redactedTarget(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//…`;
  } catch {
    return "(not a URL)";
  }
}
