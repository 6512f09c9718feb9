import path from "node:path";
import { NotFoundError } from "../errors.js";
import { LocalStore } from "../store/local/local-store.js";
import { jsonBody, readJsonObject } from "../store/store.js";
import type { Fingerprint } from "./fingerprint.js";

/**
 * The watcher's memory (seed 000's configs/.container_state.json): the fingerprint it last accepted and
 * the last backup it started. One private file per container, <state dir>/watch/<container>.json (a
 * directory of its own, apart from the store's run-state files), written through a LocalStore so it is
 * replaced atomically and kept 0600.
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

export class WatchStateFile {
  /** The file's path, for messages. */
  readonly location: string;
  private readonly store: LocalStore;
  private readonly key: string;

  constructor(stateDir: string, container: string) {
    this.store = new LocalStore(stateDir);
    this.key = `watch/${container}.json`;
    this.location = path.join(stateDir, "watch", `${container}.json`);
  }

  /** undefined when there is none; a damaged file is as good as none (the next look records a baseline). */
  async read(): Promise<WatchState | undefined> {
    try {
      const state = (await readJsonObject(this.store, this.key)) as WatchState;
      return state?.format === 1 && state.fingerprint ? state : undefined;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async write(state: WatchState): Promise<void> {
    await this.store.put(this.key, jsonBody(state));
  }

  /** True when there was a state to clear. */
  async clear(): Promise<boolean> {
    const existed = (await this.store.stat(this.key)) !== undefined;
    await this.store.delete(this.key);
    return existed;
  }
}
