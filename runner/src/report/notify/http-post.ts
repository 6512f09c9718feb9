import { FailureError } from "../../errors.js";

/** POSTs a body and fails on anything but 2xx; the URL is never part of an error (it may hold a token). */
export async function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", body, headers, signal, redirect: "error" });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new FailureError(`cannot reach the endpoint (${cause})`);
  }
  // Read it all: an unread body keeps the connection (and the process) alive.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new FailureError(`the endpoint answered HTTP ${response.status}`);
}
