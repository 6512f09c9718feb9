import { formatBytes } from "./util/format.js";

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

/** Bytes and rate on one refreshed line, only when stderr is a terminal. */
export function createProgress(label: string, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { add: () => undefined, done: () => undefined };
  const started = Date.now();
  let bytes = 0;
  const render = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    process.stderr.write(`\r\x1b[K${label}  ${formatBytes(bytes)}  ${formatBytes(bytes / seconds)}/s`);
  };
  const timer = setInterval(render, 500);
  timer.unref();
  return {
    add: (n) => {
      bytes += n;
    },
    done: () => {
      clearInterval(timer);
      process.stderr.write("\r\x1b[K");
    },
  };
}
