import type Docker from "dockerode";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Store } from "../store/store.js";

/** What every run needs: the engine, the store, a logger, the settings, and the signal that stops it. */
export interface RunContext {
  docker: Docker;
  store: Store;
  log: Logger;
  config: Config;
  signal: AbortSignal;
}
