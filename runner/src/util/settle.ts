import { FailureError } from "../errors.js";

/**
 * Awaits streaming stages that run together. When one fails the others fail too (usually with a bland
 * "premature close" or the same low-level error), so once all have settled this throws the most useful
 * error: one already explained as a FailureError, else the first that happened.
 */
export async function settleStages<T extends readonly unknown[]>(stages: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const order: unknown[] = [];
  const results = await Promise.allSettled(
    (stages as readonly Promise<unknown>[]).map((p) =>
      p.catch((err: unknown) => {
        order.push(err);
        throw err;
      }),
    ),
  );
  if (order.length > 0) throw order.find((e) => e instanceof FailureError) ?? order[0];
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
