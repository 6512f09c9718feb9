import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), "s3-server.mjs");

/**
 * An S3 endpoint for a test file. By default a local s3rver on 127.0.0.1 in its own process; set
 * OWUI_BACKUP_TEST_S3_BUCKET (plus _ENDPOINT, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY,
 * _FORCE_PATH_STYLE as needed) to run the same tests against MinIO, B2, R2 or AWS. Every test file
 * works under its own random prefix, so runs never see each other's objects.
 */
export interface TestS3 {
  bucket: string;
  endpoint?: string;
  region: string;
  /** Random key prefix of this test file, without slashes at either end. */
  prefix: string;
  /** Environment for the CLI: endpoint, region, path style and credentials. */
  env: Record<string, string>;
  client: S3Client;
  /** s3://bucket/prefix[/sub] */
  url(sub?: string): string;
  /** Multipart uploads still open under this file's prefix. */
  openUploads(): Promise<string[]>;
  /** The local server's process, to look at its memory or kill it; undefined for an external endpoint. */
  server?: ChildProcess;
  close(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const external = process.env.OWUI_BACKUP_TEST_S3_BUCKET;
  const prefix = `owui-backup-test/${randomBytes(6).toString("hex")}`;
  if (external) {
    const e = process.env;
    const endpoint = e.OWUI_BACKUP_TEST_S3_ENDPOINT;
    const region = e.OWUI_BACKUP_TEST_S3_REGION ?? "us-east-1";
    const pathStyle = e.OWUI_BACKUP_TEST_S3_FORCE_PATH_STYLE ?? (endpoint ? "true" : "false");
    const credentials =
      e.OWUI_BACKUP_TEST_S3_ACCESS_KEY_ID && e.OWUI_BACKUP_TEST_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: e.OWUI_BACKUP_TEST_S3_ACCESS_KEY_ID, secretAccessKey: e.OWUI_BACKUP_TEST_S3_SECRET_ACCESS_KEY }
        : undefined;
    return describeTarget({ bucket: external, endpoint, region, pathStyle, credentials, prefix, close: async () => undefined });
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "owui-s3rver-"));
  const bucket = "owui-backup-test";
  const server = spawn(process.execPath, ["--openssl-legacy-provider", SERVER, directory, bucket], { stdio: ["ignore", "pipe", "inherit"] });
  const ready = await new Promise<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>((resolve, reject) => {
    const lines = readline.createInterface({ input: server.stdout! });
    lines.once("line", (line) => resolve(JSON.parse(line)));
    server.once("exit", (code) => reject(new Error(`the S3 test server exited with ${code}`)));
  });
  const target = describeTarget({
    bucket,
    endpoint: ready.endpoint,
    region: "us-east-1",
    pathStyle: "true",
    credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
    prefix,
    close: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  });
  return Object.assign(target, { server });
}

function describeTarget(t: {
  bucket: string;
  endpoint: string | undefined;
  region: string;
  pathStyle: string;
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  prefix: string;
  close: () => Promise<void>;
}): TestS3 {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const client = new S3Client({
    region: t.region,
    forcePathStyle: t.pathStyle === "true",
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    ...(t.credentials ? { credentials: t.credentials } : {}),
  });
  const env: Record<string, string> = {
    OWUI_BACKUP_S3_REGION: t.region,
    OWUI_BACKUP_S3_FORCE_PATH_STYLE: t.pathStyle,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(t.endpoint ? { OWUI_BACKUP_S3_ENDPOINT: t.endpoint } : {}),
    ...(t.credentials ? { AWS_ACCESS_KEY_ID: t.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: t.credentials.secretAccessKey } : {}),
  };
  return {
    bucket: t.bucket,
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    region: t.region,
    prefix: t.prefix,
    env,
    client,
    url: (sub?: string) => `s3://${t.bucket}/${t.prefix}${sub ? `/${sub}` : ""}`,
    openUploads: async () => {
      const out = await client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: `${t.prefix}/` }));
      return (out.Uploads ?? []).map((u) => u.Key ?? "");
    },
    close: async () => {
      client.destroy();
      await t.close();
    },
  };
}
