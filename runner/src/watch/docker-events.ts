import type Docker from "dockerode";
import type { Logger } from "pino";

/**
 * Engine events about one container that can change what the watcher compares, and pause (not a
 * change, but a run killed while the container was paused leaves it so: the watcher checks for that).
 */
const INTERESTING = new Set(["create", "start", "restart", "die", "update", "rename", "destroy", "pause"]);

export interface ContainerEvent {
  action: string;
  id: string;
}

/**
 * Follows the Docker events stream for the container name until the signal aborts: reconnects with a
 * growing pause (1 s to 10 s) whenever the stream ends or the daemon is away (a dockerd restart), and
 * calls onConnected after each (re)connect so the caller can look for what it missed. The name filter
 * also matches a container created again under the same name. exec and archive events (our own
 * backups make them) are ignored; health changes are passed on.
 */
export async function followContainerEvents(
  docker: Docker,
  container: string,
  handlers: { onEvent: (e: ContainerEvent) => void; onConnected: (reconnect: boolean) => void },
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  let pauseMs = 1000;
  let connectedBefore = false;
  while (!signal.aborted) {
    try {
      const stream = (await docker.getEvents({ filters: { type: ["container"], container: [container] } })) as NodeJS.ReadableStream & { destroy(): void };
      // Stopped while connecting: the listener below would never see the abort.
      if (signal.aborted) {
        stream.destroy();
        break;
      }
      const stop = () => stream.destroy();
      signal.addEventListener("abort", stop, { once: true });
      handlers.onConnected(connectedBefore);
      if (connectedBefore) log.info("reconnected to the Docker event stream");
      connectedBefore = true;
      pauseMs = 1000;
      let pending = "";
      try {
        for await (const chunk of stream) {
          pending += chunk.toString();
          let newline: number;
          while ((newline = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (!line) continue;
            const event = parseEvent(line);
            if (!event) continue;
            // The engine's name filter also matches longer names (open-webui-pipelines for open-webui).
            const names = [event.Actor?.Attributes?.name, event.Actor?.Attributes?.oldName].map((n) => n?.replace(/^\//, ""));
            if (!names.includes(container)) continue;
            const action = event.Action ?? event.status ?? "";
            if (INTERESTING.has(action) || action.startsWith("health_status")) handlers.onEvent({ action, id: event.Actor?.ID ?? event.id ?? "" });
          }
        }
      } finally {
        signal.removeEventListener("abort", stop);
      }
      if (!signal.aborted) log.warn("the Docker event stream ended; reconnecting");
    } catch (err) {
      if (signal.aborted) break;
      log.warn(`lost the Docker event stream (${(err as Error).message}); reconnecting in ${pauseMs / 1000}s`);
    }
    await sleep(pauseMs, signal);
    pauseMs = Math.min(pauseMs * 2, 10_000);
  }
}

interface EngineEvent {
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string | undefined> };
}

/** One line of the stream; a line that is not an event is skipped, not a reason to reconnect. */
function parseEvent(line: string): EngineEvent | undefined {
  try {
    return JSON.parse(line) as EngineEvent;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
