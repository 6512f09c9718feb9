import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { oneLine } from "../../errors.js";
import type { Store } from "../../store/store.js";
import { renderMetrics } from "../metrics/render-metrics.js";
import { health, readStatusData } from "./status-data.js";
import { renderStatusPage } from "./status-page.js";

export interface StatusServerOptions {
  listen: string;
  store: Store;
  container: string;
  healthyWithinMs: number;
  schedule: string | undefined;
  /** A daily schedule's time and the host's time zone, for the next run. */
  daily?: { at: string; timeZone: string };
  log: Logger;
}

/**
 * The watcher's read-only HTTP side: `/` the status page, `/metrics` Prometheus text, `/healthz` 200
 * or 503. Everything is read from the store per request. A port in use is a warning: the watcher's
 * job is backups, not the page.
 */
export async function startStatusServer(options: StatusServerOptions): Promise<{ url: string; close: () => Promise<void> } | undefined> {
  const server = http.createServer((req, res) => {
    void answer(req, res, options).catch((err: unknown) => {
      options.log.warn(`status page: ${oneLine(err)}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
  });
  const at = options.listen.lastIndexOf(":");
  const host = options.listen.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(options.listen.slice(at + 1));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    options.log.warn(`status page not served on ${options.listen}: ${oneLine(err)} (set --listen to another HOST:PORT, or off)`);
    return undefined;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}/`;
  options.log.info(`status page on ${url} (/metrics, /healthz)`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, options: StatusServerOptions): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("read-only\n");
    return;
  }
  const path = (req.url ?? "/").split("?")[0];
  const common = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
  if (path === "/metrics") {
    res.writeHead(200, { ...common, "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(await renderMetrics(options.store));
    return;
  }
  if (path === "/healthz" || path === "/") {
    const data = await readStatusData(options.store, options.container, options.schedule, options.daily);
    const state = health(data, options.healthyWithinMs);
    if (path === "/healthz") {
      res.writeHead(state.ok ? 200 : 503, { ...common, "content-type": "text/plain; charset=utf-8" }).end(`${state.ok ? "ok" : "unhealthy"}: ${state.why}\n`);
      return;
    }
    res
      .writeHead(200, { ...common, "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:" })
      .end(renderStatusPage(data, state));
    return;
  }
  res.writeHead(404, { ...common, "content-type": "text/plain" }).end("not found\n");
}
