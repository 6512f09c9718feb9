import nodemailer from "nodemailer";
import type { Reporter } from "../reporters.js";
import { headline, message, type RunReport } from "../run-report.js";

/**
 * mailto://user:pass@smtp.host[:port]?to=a@x,b@y&from=backup@x — through nodemailer. mailto:// speaks
 * plain SMTP and upgrades with STARTTLS when the server offers it (port 587 by default); mailtos://
 * uses TLS from the first byte (port 465).
 */
export function mailReporter(url: URL, tls: boolean, bad: (why: string) => never): Reporter {
  if (!url.hostname) bad("needs the SMTP server: mailto://user:password@smtp.example.com?to=you@example.com");
  const to = url.searchParams.get("to") ?? (url.username && url.hostname ? `${decodeURIComponent(url.username)}@${url.hostname}` : "");
  if (!to) bad("needs ?to=address");
  const from = url.searchParams.get("from") ?? `owui-backup@${url.hostname}`;
  const port = url.port ? Number(url.port) : tls ? 465 : 587;
  const user = decodeURIComponent(url.username);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port,
    secure: tls,
    // With a login, STARTTLS is required: a stripped STARTTLS offer must not send the password in clear.
    // (?insecure=1 allows a plain local relay.)
    ...(user ? { auth: { user, pass: decodeURIComponent(url.password) }, requireTLS: !tls && url.searchParams.get("insecure") !== "1" } : {}),
    connectionTimeout: 8_000,
    greetingTimeout: 8_000,
    socketTimeout: 8_000,
  });
  return {
    name: "notification (mail)",
    report: async (report: RunReport, signal: AbortSignal) => {
      signal.throwIfAborted();
      await transport.sendMail({ from, to, subject: headline(report), text: message(report) });
    },
  };
}
