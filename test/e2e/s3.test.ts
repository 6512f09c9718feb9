import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { followPeakRss, lastLine, runCli, startCli } from "../helpers/cli.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { CHATS_PY, docker, inspect, py, removeFixture, startFixture, tree, type Fixture } from "./fixture.js";

const POPULATE = String.raw`
${CHATS_PY}
os.makedirs(f"{d}/uploads", exist_ok=True)
with open(f"{d}/uploads/report.pdf", "wb") as f: f.write(os.urandom(12 << 20))
with open(f"{d}/uploads/notes «файл».txt", "w") as f: f.write("odd name\n")
`;
const MUTATE = String.raw`
import os
d = "/app/backend/data"
os.remove(f"{d}/uploads/report.pdf")
with open(f"{d}/added-later.txt", "w") as f: f.write("should vanish")
`;

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const dataTree = (name: string) => {
  const t = tree(name, "/app/backend/data");
  return { ...t, data: { ...t.data!, mtime: 0 } };
};

describe.skipIf(requireDockerOrSkip())("S3 store end to end", () => {
  let s3: TestS3;
  let fixture: Fixture;
  let env: Record<string, string>;
  let copyDir: string;

  /** Keys under this test's store prefix in the bucket. */
  const bucketKeys = async (sub: string) => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${s3.prefix}/${sub}`, ...(token ? { ContinuationToken: token } : {}) }),
      );
      keys.push(...(out.Contents ?? []).map((o) => o.Key!.slice(`${s3.prefix}/`.length)));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  };
  const bucketText = async (key: string) => {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${s3.prefix}/${key}` }));
    return object.Body!.transformToString();
  };
  const listIds = async (extra: Record<string, string> = {}) => {
    const result = await runCli(["list", "--json"], { ...env, ...extra });
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { id: string }[]).map((s) => s.id);
  };

  beforeAll(async () => {
    s3 = await startTestS3();
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, POPULATE);
    copyDir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-e2e-copy-"));
    // 5 MiB parts so that the 12 MB upload goes through a real multipart upload.
    env = { ...fixture.env, ...s3.env, OWUI_BACKUP_STORE: s3.url("main"), OWUI_BACKUP_S3_PART_SIZE: "5" };
  });
  afterAll(async () => {
    if (fixture) removeFixture(fixture);
    if (copyDir) fs.rmSync(copyDir, { recursive: true, force: true });
    await s3?.close();
  });

  it("backs up into S3 and a local copy, byte for byte, and restores from each", async () => {
    const before = dataTree(fixture.name);
    const backup = await runCli(["backup", "--copy-to", copyDir, "--json"], env);
    expect(backup.code, backup.stderr).toBe(0);
    const result = JSON.parse(backup.stdout);
    expect(result.store).toBe(s3.url("main"));
    expect(result.copies).toEqual([{ store: copyDir, ok: true, removed: [] }]);
    const id = result.id as string;
    expect(await listIds()).toEqual([id]);
    expect(await listIds({ OWUI_BACKUP_STORE: copyDir })).toEqual([id]);

    // Every object, manifest and chunks included, is the same bytes in both stores.
    const keys = (await bucketKeys("main/snapshots/")).filter((k) => !k.endsWith("owner.json"));
    expect(keys.map((k) => path.basename(k)).sort()).toEqual(
      [
        "container.json",
        "env.json",
        "manifest.json",
        "app_backend_data.tar.gz",
        "app_backend_data.index.json.gz",
        "app_backend_static.tar.gz",
        "app_backend_static.index.json.gz",
        "app_backend_.webui_secret_key.tar.gz",
        "app_backend_.webui_secret_key.index.json.gz",
      ].sort(),
    );
    const chunks = await bucketKeys("main/chunks/");
    expect(chunks.length).toBeGreaterThan(0);
    // Chunks of their own, packs of small ones, and the pack index.
    const chunkKey = new RegExp(`^main/chunks/${fixture.name}/([0-9a-f]{2}/[0-9a-f]{64}(\\.gz|\\.zst)?|packs/[0-9a-f]{2}/[0-9a-f]{64}\\.pack|index/[0-9a-f]{64}\\.json\\.gz)$`);
    expect(chunks.every((k) => chunkKey.test(k)), chunks.join()).toBe(true);
    expect(chunks.some((k) => k.endsWith(".pack"))).toBe(true);
    for (const key of [...keys, ...chunks]) {
      const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${s3.prefix}/${key}` }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      const local = fs.readFileSync(path.join(copyDir, key.slice("main/".length)));
      expect(sha(bytes), key).toBe(sha(local));
    }

    const verify = await runCli(["verify", id], env);
    expect(verify.code, verify.stderr).toBe(0);

    py(fixture.name, MUTATE);
    const fromS3 = await runCli(["restore", id, "--yes", "--no-safety-snapshot"], env);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    expect(dataTree(fixture.name)).toEqual(before);

    py(fixture.name, MUTATE);
    const fromCopy = await runCli(["restore", id, "--yes", "--no-safety-snapshot"], { ...env, OWUI_BACKUP_STORE: copyDir });
    expect(fromCopy.code, fromCopy.stderr).toBe(0);
    expect(dataTree(fixture.name)).toEqual(before);
    expect(inspect(fixture.name, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("copies missing snapshots between stores with `copy`, in either direction", async () => {
    const second = await runCli(["backup"], env);
    expect(second.code, second.stderr).toBe(0);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "owui-e2e-copy2-"));
    try {
      const toLocal = await runCli(["copy", "--all", "--to", copyDir, "--to", other, "--json"], env);
      expect(toLocal.code, toLocal.stderr).toBe(0);
      const results = JSON.parse(toLocal.stdout) as { id: string; store: string; status: string }[];
      expect(results.filter((r) => r.store === copyDir).map((r) => r.status)).toEqual(["present", "copied"]);
      expect(results.filter((r) => r.store === other).map((r) => r.status)).toEqual(["copied", "copied"]);
      // And back: a fresh prefix of the bucket filled from the local copy.
      const back = await runCli(["copy", "latest", "--to", s3.url("restored")], { ...env, OWUI_BACKUP_STORE: other });
      expect(back.code, back.stderr).toBe(0);
      expect(await listIds({ OWUI_BACKUP_STORE: s3.url("restored") })).toEqual([lastLine(second.stdout)]);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it("lists, prunes and verifies in S3, deleting whole snapshots", async () => {
    const third = await runCli(["backup"], env);
    expect(third.code, third.stderr).toBe(0);
    const ids = await listIds();
    expect(ids).toHaveLength(3);
    const prune = await runCli(["prune", "--yes", "--keep-last", "1", "--json"], env);
    expect(prune.code, prune.stderr).toBe(0);
    expect(await listIds()).toEqual([lastLine(third.stdout)]);
    const left = new Set((await bucketKeys("main/snapshots/")).map((k) => k.split("/")[2]));
    expect([...left]).toEqual([lastLine(third.stdout)]);
    const verify = await runCli(["verify", "--all"], env);
    expect(verify.code, verify.stderr).toBe(0);
    const status = JSON.parse((await runCli(["status", "--json"], env)).stdout);
    expect(status).toMatchObject({ snapshots: 1, last: { id: lastLine(third.stdout) }, healthy: true });
  });

  describe("with 200 MB of incompressible data", () => {
    beforeAll(() => {
      docker("exec", fixture.name, "sh", "-c", "head -c 200000000 /dev/urandom > /app/backend/data/model.bin");
    });

    it("a backup interrupted mid-upload leaves no listed snapshot, no open upload and none of the chunks it wrote", async () => {
      const ids = await listIds();
      const chunksBefore = await bucketKeys("main/chunks/");
      const run = startCli(["backup", "--compression-level", "0"], env);
      // The 200 MB blob is 191 new chunks: stop the run once a few of them are in the bucket.
      await pollAsync(async () => (await bucketKeys("main/chunks/")).length > chunksBefore.length + 5, 60_000);
      run.kill("SIGTERM");
      const result = await run.result;
      expect(result.code, result.stderr).toBe(143);
      expect(await s3.openUploads()).toEqual([]);
      expect(await listIds()).toEqual(ids);
      expect(new Set((await bucketKeys("main/snapshots/")).map((k) => k.split("/")[2]))).toEqual(new Set(ids));
      expect((await bucketKeys("main/chunks/")).sort()).toEqual(chunksBefore.sort());
      expect(inspect(fixture.name, "{{.State.Status}}")).toBe("running");
    });

    it("a run killed outright leaves no listed snapshot; the next run reuses its chunks and removes the rest", async () => {
      const ids = await listIds();
      const chunksBefore = (await bucketKeys("main/chunks/")).length;
      const run = startCli(["backup", "--compression-level", "0"], env);
      await pollAsync(async () => (await bucketKeys("main/chunks/")).length > chunksBefore + 20, 60_000);
      run.kill("SIGKILL");
      await run.result;
      expect(await listIds()).toEqual(ids);
      const left = (await bucketKeys("main/chunks/")).length - chunksBefore;
      expect(left).toBeGreaterThan(20);
      const next = await runCli(["backup", "--compression-level", "0", "--json"], env);
      expect(next.code, next.stderr).toBe(0);
      expect(await s3.openUploads()).toEqual([]);
      const now = await listIds();
      expect(new Set((await bucketKeys("main/snapshots/")).map((k) => k.split("/")[2]))).toEqual(new Set(now));
      // What the killed run had sent was not sent again.
      const manifest = JSON.parse(await bucketText(`main/snapshots/${JSON.parse(next.stdout).id}/manifest.json`));
      expect(manifest.chunkStore.newChunks).toBeLessThanOrEqual(manifest.chunkStore.chunks - left);
    });

    it("two runners on one prefix: one backs up, the other fails with the lock error", async () => {
      const [a, b] = await Promise.all([runCli(["backup", "--compression-level", "0"], env), runCli(["backup", "--compression-level", "0"], env)]);
      const codes = [a.code, b.code].sort();
      expect(codes, a.stderr + b.stderr).toEqual([0, 1]);
      const loser = a.code === 1 ? a : b;
      expect(lastLine(loser.stderr)).toMatch(/^owui-backup: error: container \S+ is locked by pid \d+ on \S+ since .*\(backup --trigger manual\)/);
    });
  });

  it("wrong credentials: one line naming the store, no secret, exit 1, nothing written", async () => {
    const secret = "wrong-secret-V4lue";
    const bad = { ...env, OWUI_BACKUP_STORE: s3.url("untouched"), AWS_ACCESS_KEY_ID: "NOTAKEY", AWS_SECRET_ACCESS_KEY: secret };
    for (const args of [["list"], ["backup"]]) {
      const result = await runCli(args, bad);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^owui-backup: error: store ${s3.url("untouched").replace(/[/.]/g, "\\$&")} .*access denied`));
      expect(result.stderr + result.stdout).not.toContain(secret);
    }
    expect(await bucketKeys("untouched/")).toEqual([]);
    expect(inspect(fixture.name, "{{.State.Status}}")).toBe("running");
  });

  it("a bucket name S3 would reject is a usage error before any request", async () => {
    const result = await runCli(["backup"], { ...env, OWUI_BACKUP_STORE: "s3://Bad_Bucket/x", OWUI_BACKUP_S3_ENDPOINT: "http://127.0.0.1:1" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("owui-backup: error: store s3://Bad_Bucket: invalid bucket name (only lowercase letters, digits, dots and hyphens)");
  });

  it("reads credentials from *_FILE variables (Docker secrets)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-secrets-"));
    try {
      fs.writeFileSync(path.join(dir, "id"), `${s3.env.AWS_ACCESS_KEY_ID ?? ""}\n`);
      fs.writeFileSync(path.join(dir, "secret"), `${s3.env.AWS_SECRET_ACCESS_KEY ?? ""}\n`);
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = env;
      const result = await runCli(["list", "--json"], {
        ...rest,
        AWS_ACCESS_KEY_ID_FILE: path.join(dir, "id"),
        AWS_SECRET_ACCESS_KEY_FILE: path.join(dir, "secret"),
      });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a 2 GB backup streams to S3 with flat memory", async () => {
    docker("exec", fixture.name, "sh", "-c", "head -c 2000000000 /dev/urandom > /app/backend/data/model.bin");
    // The default part size (8 MiB), as users run it.
    const { OWUI_BACKUP_S3_PART_SIZE: _small, ...defaults } = env;
    const run = startCli(["backup", "--compression-level", "0", "--json"], defaults);
    const rss = followPeakRss(run.pid!);
    const result = await run.result;
    const peak = rss.stop();
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).sizeBytes).toBeGreaterThan(2_000_000_000);
    console.log(`2 GB backup to S3: peak RSS ${(peak / 1048576).toFixed(0)} MiB`);
    // The measured figure is printed above and by bench/; here only a generous bound.
    expect(peak).toBeLessThan(400 * 1048576);
    docker("exec", fixture.name, "rm", "-f", "/app/backend/data/model.bin");
  }, 600_000);
});

async function pollAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out");
}
