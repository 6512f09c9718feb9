import { webcrypto } from "node:crypto";

/**
 * sha256 on libuv's thread pool (WebCrypto digests are asynchronous jobs in Node), so hashing chunks
 * runs on every core beside the compression instead of on the main thread.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("hex");
}

export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("base64");
}
