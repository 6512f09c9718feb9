import { NotFoundError } from "../errors.js";
import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";

/**
 * A pinned snapshot is kept by retention whatever the rules say: the watcher pins the last snapshot
 * taken before it saw the container's image change (Open WebUI's migrations only go forward, so that
 * snapshot is the way back from a bad upgrade), until the next image change moves the pin.
 */
export interface Pin {
  id: string;
  reason: string;
  pinnedAt: string;
}

/** The container's pin; undefined when there is none or it cannot be parsed (it then protects nothing). */
export async function readPin(store: Store, container: string): Promise<Pin | undefined> {
  try {
    const pin = (await readJsonObject(store, layout.pin(container))) as Partial<Pin>;
    return typeof pin?.id === "string" ? (pin as Pin) : undefined;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function writePin(store: Store, container: string, pin: Pin): Promise<void> {
  await store.put(layout.pin(container), jsonBody(pin));
}

/** Pinned snapshot ids of these containers. */
export async function pinnedIds(store: Store, containers: Iterable<string>): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const container of new Set(containers)) {
    const pin = await readPin(store, container);
    if (pin) ids.add(pin.id);
  }
  return ids;
}
