// A local S3-compatible server for the tests and the benchmark: s3rver on 127.0.0.1, in its own
// process. Run with `node --openssl-legacy-provider` (s3rver's list continuation tokens use DES).
// s3rver lacks ListMultipartUploads and AbortMultipartUpload; the two handlers below implement them
// on its own upload directory, so tests can check that no multipart upload is left open.
//
//   node --openssl-legacy-provider test/helpers/s3-server.mjs <directory> <bucket>[,<bucket>...]
// prints one JSON line {"endpoint": "...", "accessKeyId": "S3RVER", "secretAccessKey": "S3RVER"} once ready.
import fs from "node:fs/promises";
import path from "node:path";
import S3rver from "s3rver";

const [directory, buckets = "owui-backup-test"] = process.argv.slice(2);
if (!directory) {
  process.stderr.write("usage: s3-server.mjs <directory> [bucket,...]\n");
  process.exit(2);
}
await fs.mkdir(directory, { recursive: true });
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(process.env.S3_PORT ?? 0),
  silent: true,
  directory,
  configureBuckets: buckets.split(",").map((name) => ({ name })),
});

const xmlEscape = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const authorized = (ctx) => /Credential=S3RVER\//.test(ctx.get("authorization"));
const uploadsDir = (bucket) => server.store.getResourcePath(bucket, undefined, "uploads");

async function multipartShim(ctx, next) {
  const url = new URL(ctx.url, "http://x");
  const [, bucket, ...rest] = url.pathname.split("/");
  const key = decodeURIComponent(rest.join("/"));
  const listing = ctx.method === "GET" && url.searchParams.has("uploads") && bucket && !key;
  const aborting = ctx.method === "DELETE" && url.searchParams.has("uploadId") && key;
  if (!listing && !aborting) return next();
  if (!authorized(ctx)) {
    ctx.status = 403;
    ctx.type = "application/xml";
    ctx.body = "<Error><Code>InvalidAccessKeyId</Code><Message>unknown key</Message></Error>";
    return;
  }
  if (aborting) {
    const dir = path.join(uploadsDir(bucket), path.basename(url.searchParams.get("uploadId")));
    await fs.rm(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  const prefix = url.searchParams.get("prefix") ?? "";
  const ids = await fs.readdir(uploadsDir(bucket)).catch(() => []);
  const uploads = [];
  for (const id of ids) {
    const k = await fs.readFile(path.join(uploadsDir(bucket), id, "key"), "utf8").catch(() => undefined);
    if (k !== undefined && k.startsWith(prefix)) uploads.push({ id, key: k });
  }
  ctx.type = "application/xml";
  ctx.body =
    `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${xmlEscape(bucket)}</Bucket>` +
    `<Prefix>${xmlEscape(prefix)}</Prefix><IsTruncated>false</IsTruncated>` +
    uploads.map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId></Upload>`).join("") +
    `</ListMultipartUploadsResult>`;
}
// Just before s3rver's router, after its logging and XML middleware.
server.middleware.splice(server.middleware.length - 1, 0, multipartShim);

const { port } = await server.run();
process.stdout.write(JSON.stringify({ endpoint: `http://127.0.0.1:${port}`, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }) + "\n");
const stop = () => server.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
