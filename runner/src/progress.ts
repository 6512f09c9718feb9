import { formatBytes } from "./util/format.js";

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

/**
 * Bytes read so far and the rate on one refreshed line, left with its final figures, only when stderr
 * is a terminal. Every caller counts bytes read: a backup from the container, a restore, verify or
 * copy from the store (archives and chunks alike).
 */
export function createProgress(label: string, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { add: () => undefined, done: () => undefined };
  const started = Date.now();
  let bytes = 0;
  const render = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    process.stderr.write(`\r\x1b[K${label}  ${formatBytes(bytes)} read  ${formatBytes(bytes / seconds)}/s`);
  };
  const timer = setInterval(render, 500);
  timer.unref();
  return {
    add: (n) => {
      bytes += n;
    },
    done: () => {
      clearInterval(timer);
      // The final figures stay on screen, however quick the path was.
      render();
      process.stderr.write("\n");
    },
  };
}
