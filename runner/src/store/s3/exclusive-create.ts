import { randomBytes } from "node:crypto";
import { FailureError } from "../../errors.js";

const CLAIM_MARK = ".claim-";
/** A claim older than this (by the server's clock) was left by a run that died mid-create. */
const STALE_CLAIM_MS = 60_000;
const ATTEMPTS = 8;

export function isClaimKey(key: string): boolean {
  return /\.claim-[0-9a-f]{16}$/.test(key);
}

export interface ExclusiveCreateOps {
  exists(key: string): Promise<boolean>;
  putClaim(key: string): Promise<void>;
  listClaims(prefix: string): AsyncIterable<{ key: string; modified: Date }>;
  remove(key: string): Promise<void>;
  /** Writes the object; false when the server itself reports that it exists (conditional write). */
  create(): Promise<boolean>;
}

/**
 * Create-if-absent on a store that may not honour conditional writes (s3rver, older MinIO, B2):
 * write a claim object, list the claims, and go ahead only when ours is the only one and the key is
 * still free; the key is written before the claim is removed. With read-after-write consistent
 * listing (S3 since 2020, MinIO, B2, R2) at most one racer creates the key; racers that see each
 * other's claims all back off for a random time and try again. The final write also carries
 * If-None-Match, so servers that support it reject a second creator on their own.
 */
export async function createExclusively(key: string, ops: ExclusiveCreateOps): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await ops.exists(key)) return false;
    const claim = `${key}${CLAIM_MARK}${randomBytes(8).toString("hex")}`;
    await ops.putClaim(claim);
    try {
      const claims: { key: string; modified: Date }[] = [];
      for await (const c of ops.listClaims(`${key}${CLAIM_MARK}`)) if (isClaimKey(c.key)) claims.push(c);
      const mine = claims.find((c) => c.key === claim);
      const rivals = claims.filter((c) => c.key !== claim);
      const live = rivals.filter((c) => !mine || mine.modified.getTime() - c.modified.getTime() < STALE_CLAIM_MS);
      for (const stale of rivals.filter((c) => !live.includes(c))) await ops.remove(stale.key);
      if (live.length === 0) {
        if (await ops.exists(key)) return false;
        return await ops.create();
      }
    } finally {
      await ops.remove(claim);
    }
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * (attempt + 1)));
  }
  throw new FailureError(`could not create ${key}: other runs kept creating it at the same moment; try again`);
}
