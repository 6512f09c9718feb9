import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { CreateMultipartUploadCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Client } from "../../../../runner/src/store/s3/s3-client.js";
import { parseS3Url } from "../../../../runner/src/store/s3/s3-location.js";
import { S3Store, type S3StoreOptions } from "../../../../runner/src/store/s3/s3-store.js";
import { readSmallObject } from "../../../../runner/src/store/store.js";
import { startTestS3, type TestS3 } from "../../../helpers/s3.js";
import { storeContract } from "../store-contract.js";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

const MiB = 1024 * 1024;
function storeAt(sub: string, options: Partial<S3StoreOptions> = {}, env: Record<string, string> = s3.env): S3Store {
  const where = parseS3Url(s3.url(sub), { endpoint: s3.endpoint, region: s3.region, forcePathStyle: env.OWUI_BACKUP_S3_FORCE_PATH_STYLE === "true" }, env);
  return new S3Store(where, createS3Client(where, env), { partSize: 5 * MiB, queueSize: 2, ...options });
}
const fresh = () => randomBytes(4).toString("hex");
const keys = async (store: S3Store, prefix = "") => {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
};

storeContract("s3", async () => storeAt(fresh()));

describe("s3 store", () => {
  it("pages through listings longer than one page", async () => {
    const store = storeAt(fresh(), { pageSize: 3 });
    for (let i = 0; i < 10; i++) await store.put(`snapshots/s${i}/manifest.json`, Buffer.from(String(i)));
    expect(await keys(store, "snapshots/")).toHaveLength(10);
  });

  it("streams a multipart upload and reads it back byte for byte", async () => {
    const store = storeAt(fresh());
    const data = randomBytes(12 * MiB + 77);
    await store.put("big.bin", Readable.from(chunks(data)));
    expect((await readSmallObject(store, "big.bin")).equals(data)).toBe(true);
    expect(await store.stat("big.bin")).toEqual({ key: "big.bin", size: data.length });
  });

  it("aborts the multipart upload when the source fails or the run is interrupted mid-way", async () => {
    const sub = fresh();
    const store = storeAt(sub);
    const failing = Readable.from(
      (async function* () {
        yield* chunks(randomBytes(11 * MiB));
        throw new Error("source broke");
      })(),
    );
    await expect(store.put("a.bin", failing)).rejects.toThrow(/source broke/);

    const controller = new AbortController();
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 1 * MiB;
        if (sent > 11 * MiB) controller.abort(new Error("interrupted"));
        this.push(randomBytes(MiB));
      },
    });
    await expect(store.put("b.bin", endless, { signal: controller.signal })).rejects.toThrow();
    expect(await keys(store)).toEqual([]);
    expect((await s3.openUploads()).filter((k) => k.includes(sub))).toEqual([]);
  });

  it("aborts multipart uploads left behind by a run that died", async () => {
    const sub = fresh();
    const store = storeAt(sub);
    const Key = `${s3.prefix}/${sub}/snapshots/x/paths/data.tar.gz`;
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
    await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    expect(await s3.openUploads()).toContain(Key);
    expect(await store.abortPartialWrites("snapshots/x/")).toBe(1);
    expect(await s3.openUploads()).not.toContain(Key);
  });

  it("hides its claim objects and write probes from listings", async () => {
    const store = storeAt(fresh());
    await store.checkWritable();
    const results = await Promise.all([1, 2, 3].map((i) => store.putIfAbsent("locks/c.json", Buffer.from(String(i)))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await keys(store)).toEqual(["locks/c.json"]);
  });
});

describe("s3 store retries", () => {
  it("backs off and retries throttling and 5xx answers, up to 5 attempts", async () => {
    // A proxy in front of the server that answers the first three requests with 503 SlowDown.
    const target = new URL(s3.endpoint ?? "");
    let refused = 0;
    const proxy = http.createServer((req, res) => {
      if (refused < 3) {
        refused++;
        req.resume();
        res.writeHead(503, { "content-type": "application/xml" }).end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        return;
      }
      const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const where = parseS3Url(s3.url(fresh()), { endpoint, forcePathStyle: true }, s3.env);
      const store = new S3Store(where, createS3Client(where, s3.env));
      await store.put("k", Buffer.from("after three refusals"));
      expect(refused).toBe(3);
      expect((await readSmallObject(store, "k")).toString()).toBe("after three refusals");
    } finally {
      proxy.close();
    }
  });
});

describe("s3 store errors", () => {
  it("wrong credentials: one line naming the store, never the secret", async () => {
    const secret = "Sup3rSecretValue/" + fresh();
    const store = storeAt(fresh(), {}, { ...s3.env, AWS_ACCESS_KEY_ID: "WRONGKEYID", AWS_SECRET_ACCESS_KEY: secret });
    const error = await store.checkWritable().then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/^store s3:\/\/\S+ .*access denied/);
    expect(error?.message).not.toContain(secret);
    expect(error?.message).not.toContain("\n");
  });

  it("a bucket that does not exist", async () => {
    const where = parseS3Url(`s3://no-such-bucket-${fresh()}/p`, { endpoint: s3.endpoint, forcePathStyle: true }, s3.env);
    const store = new S3Store(where, createS3Client(where, s3.env));
    await expect(store.checkWritable()).rejects.toThrow(/bucket no-such-bucket-\w+ does not exist/);
  });

  it("an endpoint nobody answers", async () => {
    const env = { ...s3.env, AWS_MAX_ATTEMPTS: "2" };
    const where = parseS3Url("s3://some-bucket/p", { endpoint: "http://127.0.0.1:1", forcePathStyle: true }, env);
    const store = new S3Store(where, createS3Client(where, env));
    await expect(store.checkWritable()).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  it("says to check the setting the endpoint actually came from", async () => {
    const env = { ...s3.env, AWS_MAX_ATTEMPTS: "1" };
    for (const [url, defaults, named] of [
      ["s3://some-bucket/p", { endpoint: "http://127.0.0.1:1", endpointFrom: "--s3-endpoint" }, "--s3-endpoint"],
      ["s3://some-bucket/p", { endpoint: "http://127.0.0.1:1", endpointFrom: "OWUI_BACKUP_S3_ENDPOINT" }, "OWUI_BACKUP_S3_ENDPOINT"],
      ["s3://some-bucket/p?endpoint=http://127.0.0.1:1", { endpointFrom: "--s3-endpoint" }, "the endpoint= of the store URL"],
    ] as const) {
      const where = parseS3Url(url, defaults, env);
      const store = new S3Store(where, createS3Client(where, env));
      await expect(store.checkWritable()).rejects.toThrow(`(ECONNREFUSED); check ${named} and the network`);
    }
  });
});

function* chunks(data: Buffer, size = 256 * 1024): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
