import fs from "node:fs";
import path from "node:path";
import type { Fingerprint } from "./fingerprint.js";

/**
 * The watcher's memory (seed 000's configs/.container_state.json): the fingerprint it last accepted and
 * the last backup it started. One private file per container in the state directory.
 */
export interface WatchState {
  format: 1;
  container: string;
  savedAt: string;
  fingerprint: Fingerprint;
  /** Data size at the last backup (or when the baseline was taken): growth is measured from here. */
  sizeReference?: number | undefined;
  lastBackup?: { id: string; at: string };
}

/** <state dir>/watch/<container>.json: a directory of its own, apart from the store's run-state files. */
export function watchStateFile(stateDir: string, container: string): string {
  return path.join(stateDir, "watch", `${container}.json`);
}

export function readWatchState(file: string): WatchState | undefined {
  try {
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as WatchState;
    return state.format === 1 && state.fingerprint ? state : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // A damaged file is as good as none: the next check records a new baseline.
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a state. */
export function writeWatchState(file: string, state: WatchState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(temp, file);
}

/** True when there was a state to clear. */
export function clearWatchState(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
