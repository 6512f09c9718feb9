import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { CountingStream } from "../../archive/hashing.js";
import { FailureError, NotFoundError } from "../../errors.js";
import { Stages } from "../../util/settle.js";
import type { GetOptions, PutOptions, Store, StoredObject } from "../store.js";
import { createExclusively, isClaimKey } from "./exclusive-create.js";
import { explainS3Error, httpStatus } from "./s3-errors.js";
import type { S3Location } from "./s3-location.js";

export interface S3StoreOptions {
  /** Multipart part size in bytes. An object can have at most 10,000 parts. */
  partSize: number;
  /** Parts uploaded at once; memory holds about partSize × (queueSize + 1). */
  queueSize: number;
  /** Keys per list request (S3's maximum is 1000; smaller in tests to exercise pagination). */
  pageSize?: number;
}

export const DEFAULT_S3_OPTIONS: S3StoreOptions = { partSize: 8 * 1024 * 1024, queueSize: 2 };
const MAX_PARTS = 10_000;
const PROBE_MARK = ".probe-";
const isProbeKey = (key: string) => (key.split("/").at(-1) ?? "").startsWith(PROBE_MARK);

/**
 * A store in an S3 bucket under a key prefix (AWS S3, or any S3-compatible server: MinIO, B2, R2).
 * Large objects stream through multipart uploads with bounded memory; an upload that fails or is
 * interrupted aborts its multipart upload, so no invisible parts are left to pay for.
 */
export class S3Store implements Store {
  readonly location: string;
  readonly identity: string;

  constructor(
    readonly where: S3Location,
    private readonly client: S3Client,
    private readonly options: S3StoreOptions = DEFAULT_S3_OPTIONS,
  ) {
    this.location = where.display;
    this.identity = `${where.display} ${where.endpoint ?? "aws"} ${where.profile ?? ""}`;
  }

  private objectKey(key: string): string {
    const parts = key.split("/");
    if (key.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new FailureError(`invalid store key ${JSON.stringify(key)}`);
    }
    return this.where.prefix ? `${this.where.prefix}/${key}` : key;
  }

  /** The object-key prefix for a store-key prefix; "" is the whole store. */
  private objectPrefix(prefix: string): string {
    if (prefix === "") return this.where.prefix ? `${this.where.prefix}/` : "";
    return this.objectKey(prefix.replace(/\/$/, "")) + (prefix.endsWith("/") ? "/" : "");
  }

  private storeKey(objectKey: string): string {
    return this.where.prefix ? objectKey.slice(this.where.prefix.length + 1) : objectKey;
  }

  private async send<T>(doing: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw explainS3Error(err, this.where, doing);
    }
  }

  async checkWritable(): Promise<void> {
    const probe = this.objectKey(`${PROBE_MARK}${randomBytes(6).toString("hex")}`);
    await this.send("checking that it can be written", async () => {
      await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: probe, Body: new Uint8Array() }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: probe }));
    });
  }

  async put(key: string, body: Readable | Uint8Array, options: PutOptions = {}): Promise<void> {
    const Key = this.objectKey(key);
    if (!(body instanceof Readable)) {
      await this.putBytes(Key, body, options.signal, `writing ${key}`, false, options.sha256);
      return;
    }
    const counter = new CountingStream();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.where.bucket, Key, Body: counter },
      partSize: this.options.partSize,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
    });
    // Interrupting destroys the source: lib-storage then waits for the parts in flight and aborts
    // the multipart upload before done() rejects (its own abort() returns before that happens).
    const stages = new Stages(options.signal);
    await this.send(`writing ${key}`, async () => {
      await stages.settle([pipeline(body, counter, { signal: stages.signal }), upload.done()] as const).catch((err: unknown) => {
        if (/Exceeded \d+ parts/.test(String((err as Error)?.message))) {
          throw new FailureError(
            `${key} is larger than ${MAX_PARTS} parts of ${this.options.partSize / 1048576} MiB; raise OWUI_BACKUP_S3_PART_SIZE`,
          );
        }
        throw err;
      });
      // The stored length must be every byte we sent; the SDK's per-part checksums cover the content.
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }));
      if (head.ContentLength !== counter.bytes) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key }));
        throw new FailureError(`stored ${key} has ${head.ContentLength} bytes, sent ${counter.bytes}; removed it`);
      }
    });
  }

  private async putBytes(
    Key: string,
    body: Uint8Array,
    signal: AbortSignal | undefined,
    doing: string,
    ifNoneMatch = false,
    sha256?: string,
  ): Promise<void> {
    await this.send(doing, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.where.bucket,
          Key,
          Body: body,
          // The server checks the bytes it got against this; a sha256 the caller already has costs
          // nothing here (chunks), an MD5 is computed on the main thread.
          ...(sha256 ? { ChecksumSHA256: sha256 } : { ContentMD5: createHash("md5").update(body).digest("base64") }),
          ...(ifNoneMatch ? { IfNoneMatch: "*" } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      ),
    );
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const Key = this.objectKey(key);
    return createExclusively(Key, {
      exists: async (k) => (await this.statObject(k)) !== undefined,
      putClaim: (k) => this.putBytes(k, new Uint8Array(), undefined, `claiming ${key}`),
      listClaims: (prefix) => this.listRaw(prefix),
      remove: (k) => this.deleteObject(k),
      create: async () => {
        try {
          await this.putBytes(Key, body, undefined, `creating ${key}`, true);
          return true;
        } catch (err) {
          // Servers with conditional writes (AWS, R2, MinIO) say 412 when someone else created it, and
          // 409 while someone else's conditional write of it is in flight.
          const status = httpStatus(err);
          if (status === 412 || status === 409) return false;
          throw err;
        }
      },
    });
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const range = options.range;
    if (range && range.end <= range.start) return Readable.from([]);
    const response = await this.send(`reading ${key}`, () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.where.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      ),
    ).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`${key} not found in store ${this.location}`);
      throw err;
    });
    const body = response.Body as Readable;
    const signal = options.signal;
    if (signal) {
      const onAbort = () => body.destroy(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
      body.once("close", () => signal.removeEventListener("abort", onAbort));
    }
    return body;
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const found = await this.statObject(this.objectKey(key));
    return found ? { key, size: found.size } : undefined;
  }

  private async statObject(Key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      // A HEAD answer has no body, so a missing bucket also reads as 404 here; the next request names it.
      if (httpStatus(err) === 404) return undefined;
      throw explainS3Error(err, this.where, `looking up ${this.storeKey(Key)}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    for await (const object of this.listRaw(this.objectPrefix(prefix))) {
      if (object.key.endsWith("/") || isClaimKey(object.key) || isProbeKey(object.key)) continue;
      yield { key: this.storeKey(object.key), size: object.size };
    }
  }

  /** Every object under a full object-key prefix, page by page. */
  private async *listRaw(prefix: string): AsyncIterable<StoredObject & { modified: Date }> {
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.options.pageSize ?? 1000 },
      { Bucket: this.where.bucket, Prefix: prefix },
    );
    try {
      for await (const page of pages) {
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
        }
      }
    } catch (err) {
      throw explainS3Error(err, this.where, "listing objects");
    }
  }

  async delete(key: string): Promise<void> {
    await this.deleteObject(this.objectKey(key));
  }

  private async deleteObject(Key: string): Promise<void> {
    await this.send(`deleting ${this.storeKey(Key)}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key })));
  }

  async abortPartialWrites(prefix: string): Promise<number> {
    const full = this.objectPrefix(prefix.endsWith("/") ? prefix : `${prefix}/`);
    let aborted = 0;
    try {
      let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.where.bucket, Prefix: full, ...markers }));
        for (const u of page.Uploads ?? []) {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key: u.Key, UploadId: u.UploadId }));
          aborted++;
        }
        if (!page.IsTruncated) break;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (err) {
      // Some S3-compatible servers cannot list uploads, and a key may lack the permission; the bucket's
      // lifecycle rule (abort incomplete uploads after a day) is the fallback there.
      const status = httpStatus(err);
      if ((err as Error).name === "NotImplemented" || status === 501 || status === 403) return aborted;
      throw explainS3Error(err, this.where, "aborting unfinished uploads");
    }
    return aborted;
  }
}
