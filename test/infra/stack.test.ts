import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runProgram, type ProgramRun } from "./program.js";

/**
 * The whole program under pulumi.runtime.setMocks, one storage × schedule variant per test: which
 * resources exist, with which inputs and options. Nothing is created: directories only under a temp dir.
 */

const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  user: "aws:iam/user:User",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  accessKey: "aws:iam/accessKey:AccessKey",
  image: "docker:index/image:Image",
  container: "docker:index/container:Container",
  command: "command:local:Command",
};
const SECRET_KEY = "4dabf18193072939515e22adb298388d";
/** A value as the provider gets it (secrets unwrapped). */
const plain = (v: any) => (v && typeof v === "object" && SECRET_KEY in v ? v.value : v);
const envOf = (run: ProgramRun) => Object.fromEntries((plain(run.one(T.container).inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

let tmp: string;
let savedXdg: string | undefined;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "owui-infra-"));
  savedXdg = process.env.XDG_DATA_HOME;
  process.env.XDG_DATA_HOME = path.join(tmp, "data");
});
afterAll(() => {
  if (savedXdg === undefined) delete process.env.XDG_DATA_HOME;
  else process.env.XDG_DATA_HOME = savedXdg;
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("dev stack: local store × cron", () => {
  test("a runner image, a runner container and a crontab command; nothing of AWS", async () => {
    const store = path.join(tmp, "store with space");
    const run = await runProgram({ storage: { kind: "local", path: store }, schedule: { kind: "cron", time: "03:15", bootDelayMinutes: 7 } });
    expect(run.resources.map((r) => r.type).sort()).toEqual([T.command, T.container, T.image].sort());
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);

    const image = run.one(T.image).inputs;
    expect(image.skipPush).toBe(true);
    expect(image.build.dockerfile).toBe(path.resolve("runner/Dockerfile"));
    expect(image.build.context).toBe(path.resolve("."));
    expect(image.build.args).toEqual({ NODE_IMAGE: "node:24-slim" });

    const container = run.one(T.container);
    expect(container.parentType).toBe("owui-backup:index:RunnerContainer");
    expect(container.deleteBeforeReplace).toBe(true);
    expect(container.inputs).toMatchObject({ name: "owui-backup-runner-dev", restart: "unless-stopped", init: true, image: "sha256:0123456789abcdef" });
    // Its main process is the watcher, given time to finish a backup's cleanup when stopped.
    expect(container.inputs.command).toEqual(["owui-backup", "watch"]);
    expect(container.inputs).toMatchObject({ stopTimeout: 120, destroyGraceSeconds: 120 });
    expect(container.inputs.volumes).toEqual([
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
      { hostPath: store, containerPath: store },
    ]);
    expect(container.secretInputs).toEqual([]);
    expect(envOf(run)).toMatchObject({ OWUI_BACKUP_CONTAINER: "open-webui", OWUI_BACKUP_STORE: store, OWUI_BACKUP_KEEP_LAST: "7" });
    // The watcher's status page: on every interface inside, published on the host's loopback only.
    expect(envOf(run)).toMatchObject({ OWUI_BACKUP_LISTEN: "0.0.0.0:9595", OWUI_BACKUP_SCHEDULE: "cron: daily at 03:15 and 7 min after boot (host time)" });
    expect(container.inputs.ports).toEqual([{ internal: 9595, external: 9595, ip: "127.0.0.1" }]);
    expect(Object.keys(envOf(run)).filter((k) => k.startsWith("AWS_"))).toEqual([]);
    expect(container.inputs.labels).toEqual(
      expect.arrayContaining([
        { label: "owui-backup.role", value: "runner" },
        { label: "owui-backup.stack", value: "dev" },
        { label: "owui-backup.target", value: "open-webui" },
      ]),
    );
    if (process.platform === "linux" && typeof process.getuid === "function") {
      expect(container.inputs.user).toBe(`${process.getuid()}:${process.getgid!()}`);
      // The store directory is made before the container, owned by whoever runs pulumi up, private.
      expect(fs.statSync(store).mode & 0o777).toBe(0o700);
    }

    const cron = run.one(T.command);
    expect(cron.deleteBeforeReplace).toBe(true);
    // Any change to the scripts replaces the command (old delete, then new create), not an in-place update.
    expect(cron.inputs.triggers).toEqual([cron.inputs.create, cron.inputs.delete, cron.inputs.interpreter]);
    expect(cron.parentType).toBe("owui-backup:index:Schedule");
    expect(cron.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
    expect(cron.inputs.create).toContain("'15 3 * * *'");
    expect(cron.inputs.create).toContain("'@reboot sleep 420 &&'");
    expect(cron.inputs.create).toContain("'exec owui-backup-runner-dev owui-backup backup --trigger schedule >/dev/null # owui-backup:dev'");
    expect(cron.inputs.delete).toContain(" # owui-backup:dev");

    expect(run.outputs).toMatchObject({
      storeUrl: store,
      runnerContainer: "owui-backup-runner-dev",
      bucketName: undefined,
      restoreCommand: "docker exec -it owui-backup-runner-dev owui-backup restore latest",
      // The clone's own CLI by its path: nothing that could fetch a package from the registry.
      restoreOnHost: `node ${path.resolve("runner/bin/owui-backup.js")} --container open-webui --store "${store}" restore latest`,
      scheduleSummary: "cron: daily at 03:15 and 7 min after boot: docker exec owui-backup-runner-dev owui-backup backup --trigger schedule",
    });
  });
});

describe("what a real engine does with the program's dependencies", () => {
  test("the schedule's scripts are built from configuration, not from the runner's outputs: a rebuilt runner leaves the crontab alone", async () => {
    const run = await runProgram({ storage: { kind: "local", path: path.join(tmp, "deps") } });
    const cron = run.one(T.command);
    // A real engine replaces the command when an input it was made from is replaced (triggers included).
    for (const input of ["create", "delete", "interpreter", "triggers"]) expect(cron.inputDependencies[input] ?? [], input).toEqual([]);
    // … and still makes it after the runner container.
    expect(cron.dependsOn).toContain(T.container);
  });

  test("schedule.drill adds the weekly restore drill to the schedule", async () => {
    const run = await runProgram({ storage: { kind: "local", path: path.join(tmp, "drill") }, schedule: { kind: "cron", drill: { weekday: "sun", time: "03:30" } } });
    expect(run.one(T.command).inputs.create).toContain("'30 3 * * sun'");
    expect(run.one(T.command).inputs.create).toContain("'exec owui-backup-runner-dev owui-backup drill latest >/dev/null # owui-backup:dev'");
    expect(run.outputs.scheduleSummary).toMatch(/; a restore drill every sun at 03:30: docker exec owui-backup-runner-dev owui-backup drill latest$/);
  });

  test("the image is built for the engine's platform, asked from the engine; or for the configured one", async () => {
    const asked = await runProgram({ storage: { kind: "local", path: path.join(tmp, "arm") } }, { docker: { enginePlatform: "linux/arm64" } });
    expect(asked.one(T.image).inputs.build.platform).toBe("linux/arm64");
    const configured = await runProgram({ storage: { kind: "local", path: path.join(tmp, "arm") }, platform: "linux/amd64" }, { docker: { enginePlatform: "linux/arm64" } });
    expect(configured.one(T.image).inputs.build.platform).toBe("linux/amd64");
  });

  test("a Colima context: the provider and the schedule reach it; the runner mounts the engine VM's own socket", async () => {
    const colima = "unix:///Users/ada/.colima/default/docker.sock";
    const run = await runProgram({ storage: { kind: "local", path: path.join(tmp, "colima") } }, { docker: { contextHost: colima } });
    expect(run.one(T.image).provider).toMatch(/docker::/);
    expect(run.one(T.command).inputs.create).toContain(`-H ${colima}`);
    // Pulumi runs on Linux here, where the engine is local: its socket path is the mount.
    expect(run.one(T.container).inputs.volumes[0]).toEqual({ hostPath: "/Users/ada/.colima/default/docker.sock", containerPath: "/var/run/docker.sock" });
  });
});

describe("aws stack: provisioned bucket × systemd", () => {
  test("bucket hardened, kept on destroy with its settings, runner key limited to its prefix and passed as a secret", async () => {
    const run = await runProgram({ storage: { kind: "aws", prefix: "host-a", noncurrentVersionDays: 45 }, schedule: { kind: "systemd", systemdScope: "user" } }, { stack: "aws" });

    const bucket = run.one(T.bucket);
    expect(bucket.parentType).toBe("owui-backup:index:BackupBucket");
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(bucket.inputs.bucketPrefix).toBe("owui-backup-aws-");
    expect(bucket.inputs.objectLockEnabled).toBeUndefined();
    expect(run.one(T.versioning).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(run.one(T.encryption).inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    expect(run.one(T.publicAccess).inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    expect(run.one(T.ownership).inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    expect(JSON.parse(run.one(T.policy).inputs.policy).Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: ["arn:aws:s3:::owui-backup-aws-a1b2c3", "arn:aws:s3:::owui-backup-aws-a1b2c3/*"],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
    const rules = run.one(T.lifecycle).inputs.rules;
    expect(rules).toEqual([
      { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
      { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 45 }, expiration: { expiredObjectDeleteMarker: true } },
    ]);
    expect(run.of(T.objectLock)).toEqual([]);

    // Kept on destroy: the bucket and every setting on it (deleting a setting would strip the kept bucket).
    for (const type of [T.bucket, T.versioning, T.encryption, T.publicAccess, T.ownership, T.policy, T.lifecycle]) {
      expect(run.one(type).retainOnDelete, type).toBe(true);
    }
    for (const type of [T.user, T.userPolicy, T.accessKey, T.container, T.image, T.command]) {
      expect(run.one(type).retainOnDelete, type).toBe(false);
    }

    expect(JSON.parse(run.one(T.userPolicy).inputs.policy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ListUnderPrefix",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: "arn:aws:s3:::owui-backup-aws-a1b2c3",
          Condition: { StringLike: { "s3:prefix": ["host-a", "host-a/*"] } },
        },
        {
          Sid: "ObjectsUnderPrefix",
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
          Resource: "arn:aws:s3:::owui-backup-aws-a1b2c3/host-a/*",
        },
      ],
    });

    const container = run.one(T.container);
    expect(container.secretInputs).toEqual(["envs"]);
    expect(envOf(run)).toMatchObject({
      OWUI_BACKUP_STORE: "s3://owui-backup-aws-a1b2c3/host-a",
      OWUI_BACKUP_S3_REGION: "eu-central-1",
      AWS_SECRET_ACCESS_KEY: "mock-secret-access-key",
      OWUI_BACKUP_LOG_DIR: path.join(process.env.XDG_DATA_HOME!, "owui-backup", "logs"),
      OWUI_BACKUP_STATE_DIR: path.join(process.env.XDG_DATA_HOME!, "owui-backup", "state"),
    });
    expect(run.outputs.restoreOnHost).toContain("--store s3://owui-backup-aws-a1b2c3/host-a --s3-region eu-central-1 restore latest");
    // Only the socket and this host's data directory (logs, watcher state): no store directory for a bucket.
    expect(container.inputs.volumes).toEqual([
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
      { hostPath: path.join(process.env.XDG_DATA_HOME!, "owui-backup"), containerPath: path.join(process.env.XDG_DATA_HOME!, "owui-backup") },
    ]);

    const timer = run.one(T.command).inputs;
    expect(timer.create).toContain("systemctl --user enable --now owui-backup-owui-backup-aws.timer");
    expect(timer.create).toContain("OnCalendar=*-*-* 02:00:00");
    expect(timer.delete).toContain("systemctl --user disable --now owui-backup-owui-backup-aws.timer");

    expect(run.outputs).toMatchObject({
      storeUrl: "s3://owui-backup-aws-a1b2c3/host-a",
      bucketName: "owui-backup-aws-a1b2c3",
      bucketArn: "arn:aws:s3:::owui-backup-aws-a1b2c3",
      bucketOnDestroy: expect.stringMatching(/^kept: pulumi destroy leaves bucket owui-backup-aws-a1b2c3 and every snapshot\. To use it again after a destroy/),
    });
    expect(JSON.stringify(run.outputs)).not.toContain("mock-secret-access-key");
  });

  test("Object Lock on a kept bucket: enabled by its own resource, never by replacing the bucket", async () => {
    const run = await runProgram({ storage: { kind: "aws", bucketName: "acme-locked", objectLock: { mode: "COMPLIANCE", days: 14 } }, schedule: { kind: "none" } }, { stack: "aws" });
    // Not the bucket's objectLockEnabled: changing that replaces the bucket.
    expect(run.one(T.bucket).inputs.objectLockEnabled).toBeUndefined();
    expect(run.one(T.objectLock).inputs.objectLockEnabled).toBe("Enabled");
    expect(run.one(T.objectLock).inputs.rule).toEqual({ defaultRetention: { mode: "COMPLIANCE", days: 14 } });
    expect(run.one(T.objectLock).retainOnDelete).toBe(true);
  });

  test("a kept bucket is adopted again (import), and bucketOnDestroy says how", async () => {
    const first = await runProgram({ storage: { kind: "aws", bucketName: "acme-owui-backups" } }, { stack: "aws" });
    expect(first.one(T.bucket).importId).toBeUndefined();
    expect(first.outputs.bucketOnDestroy).toBe(
      "kept: pulumi destroy leaves bucket acme-owui-backups and every snapshot. To use it again after a destroy, set storage.bucketName to acme-owui-backups and storage.existing to true: " +
        "OWUI_BACKUP_STACK=aws npm run pulumi -- config set --path owui-backup:storage.bucketName acme-owui-backups; OWUI_BACKUP_STACK=aws npm run pulumi -- config set --path owui-backup:storage.existing true; then OWUI_BACKUP_STACK=aws npm run up",
    );
    const again = await runProgram({ storage: { kind: "aws", bucketName: "acme-owui-backups", existing: true } }, { stack: "aws" });
    expect(again.one(T.bucket).importId).toBe("acme-owui-backups");
    expect(again.one(T.bucket).inputs.bucket).toBe("acme-owui-backups");
    // Its settings are applied anew, and kept again on the next destroy.
    for (const type of [T.versioning, T.encryption, T.publicAccess, T.ownership, T.policy, T.lifecycle]) expect(again.one(type).retainOnDelete, type).toBe(true);
  });

  test("the runner container starts only once its IAM policy exists (its key cannot work before)", async () => {
    const run = await runProgram({ storage: { kind: "aws" } }, { stack: "aws" });
    expect(run.one(T.container).dependsOn).toContain(T.userPolicy);
  });

  test("destroyBucket, SSE-KMS and a colder class × no schedule", async () => {
    const kms = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const run = await runProgram(
      {
        storage: {
          kind: "aws",
          bucketName: "acme-owui-backups",
          prefix: "host-a",
          kmsKeyArn: kms,
          transition: { days: 30, storageClass: "GLACIER_IR" },
          destroyBucket: true,
        },
        schedule: { kind: "none" },
      },
      { stack: "aws" },
    );
    expect(run.one(T.bucket).inputs).toMatchObject({ bucket: "acme-owui-backups", forceDestroy: true });
    for (const r of run.resources) expect(r.retainOnDelete, r.type).toBe(false);
    expect(run.one(T.encryption).inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kms }, bucketKeyEnabled: true },
    ]);
    expect(run.of(T.objectLock)).toEqual([]);
    expect(run.one(T.lifecycle).inputs.rules[2]).toEqual({
      id: "transition-snapshots",
      status: "Enabled",
      filter: { and: { prefix: "host-a/", objectSizeGreaterThan: 131072 } },
      transitions: [{ days: 30, storageClass: "GLACIER_IR" }],
    });
    expect(JSON.parse(run.one(T.userPolicy).inputs.policy).Statement[2]).toEqual({
      Sid: "UseBucketKey",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: kms,
    });
    expect(run.of(T.command)).toEqual([]);
    expect(run.outputs.bucketOnDestroy).toMatch(/^deleted with every snapshot/);
    expect(run.outputs.scheduleSummary).toMatch(/^none: /);
  });
});

describe("b2 stack: existing S3-compatible bucket × Windows Task Scheduler", () => {
  test("no AWS resources; endpoint and region as settings, the key from secret config as a secret", async () => {
    const run = await runProgram(
      {
        storage: { kind: "s3", endpoint: "https://s3.us-west-004.backblazeb2.com", region: "us-west-004", bucket: "my-owui-backups", prefix: "host-a" },
        schedule: { kind: "windows", time: "02:00", bootDelayMinutes: 5 },
      },
      { stack: "b2", secrets: { s3AccessKeyId: "0045f0000000000000000000a", s3SecretAccessKey: "K004very-secret-application-key" } },
    );
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(run.one(T.container).secretInputs).toEqual(["envs"]);
    expect(envOf(run)).toMatchObject({
      OWUI_BACKUP_STORE: "s3://my-owui-backups/host-a",
      OWUI_BACKUP_S3_ENDPOINT: "https://s3.us-west-004.backblazeb2.com",
      OWUI_BACKUP_S3_REGION: "us-west-004",
      AWS_ACCESS_KEY_ID: "0045f0000000000000000000a",
      AWS_SECRET_ACCESS_KEY: "K004very-secret-application-key",
    });
    const task = run.one(T.command).inputs;
    expect(task.interpreter).toEqual(["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]);
    const script = Buffer.from(task.create, "base64").toString("utf16le");
    expect(script).toContain("$taskPath = '\\owui-backup\\owui-backup-b2\\'");
    expect(script).toContain("New-ScheduledTaskTrigger -Daily -At '02:00'");
    expect(script).toContain("$atStart.Delay = 'PT5M'");
    expect(Buffer.from(task.delete, "base64").toString("utf16le")).toContain("Get-ScheduledTask -TaskPath '\\owui-backup\\owui-backup-b2\\'");
    expect(run.outputs.restoreOnHost).toBe(
      `AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… node ${path.resolve("runner/bin/owui-backup.js")} --container open-webui --store s3://my-owui-backups/host-a --s3-endpoint https://s3.us-west-004.backblazeb2.com --s3-region us-west-004 restore latest`,
    );
    expect(JSON.stringify(run.outputs)).not.toContain("K004very-secret");
  });

  test("statusPort 0: no published port, and the watcher serves no page", async () => {
    const run = await runProgram({ storage: { kind: "local", path: path.join(tmp, "noport") }, statusPort: 0 });
    expect(run.one(T.container).inputs.ports ?? []).toEqual([]);
    expect(envOf(run)).toMatchObject({ OWUI_BACKUP_LISTEN: "off" });
    await expect(runProgram({ storage: { kind: "local", path: path.join(tmp, "noport") }, statusPort: 70000 })).rejects.toThrow(/owui-backup:statusPort: expected a port number, or 0 for none/);
  });

  test("notification URLs: a secret config value passed to the runner as a secret, in no output; notifyOn as a setting", async () => {
    const urls = "ntfy://ntfy.example.test/owui hc://0b6e1f8a-uuid mailtos://me:pw-SECRET@smtp.example.test?to=me@example.test";
    const run = await runProgram(
      { storage: { kind: "local", path: path.join(tmp, "notify") }, notifyOn: "always" },
      { secrets: { notify: urls } },
    );
    expect(run.one(T.container).secretInputs).toEqual(["envs"]);
    expect(envOf(run)).toMatchObject({ OWUI_BACKUP_NOTIFY: urls, OWUI_BACKUP_NOTIFY_ON: "always" });
    expect(JSON.stringify(run.outputs)).not.toContain("pw-SECRET");
    await expect(runProgram({ storage: { kind: "local", path: path.join(tmp, "notify") } }, { secrets: { notify: "smtp://pw-SECRET@x" } })).rejects.toThrow(
      /owui-backup:notify: scheme smtp is not supported; use json, jsons, ntfy/,
    );
    await expect(runProgram({ storage: { kind: "local", path: path.join(tmp, "notify") }, notifyOn: "sometimes" })).rejects.toThrow(/owui-backup:notifyOn: expected failure or always/);
  });

  test("an s3 stack without its secret key fails before any resource", async () => {
    await expect(
      runProgram({ storage: { kind: "s3", endpoint: "https://s3.example.test", bucket: "my-owui-backups" } }, { stack: "b2", secrets: { s3AccessKeyId: "id" } }),
    ).rejects.toThrow(/s3SecretAccessKey/);
  });
});

describe("every storage × schedule", () => {
  const storages = {
    local: () => ({ kind: "local", path: path.join(tmp, "matrix") }),
    aws: () => ({ kind: "aws", prefix: "host-a" }),
    s3: () => ({ kind: "s3", endpoint: "https://minio.test:9000", bucket: "owui-backups" }),
  };
  const interpreters = { cron: "/bin/sh", systemd: "/bin/sh", windows: "powershell.exe" };
  const cases = Object.keys(storages).flatMap((storage) => ["cron", "systemd", "windows", "none"].map((schedule) => [storage, schedule] as const));

  test.each(cases)("%s × %s", async (storage, schedule) => {
    const run = await runProgram(
      { storage: storages[storage as keyof typeof storages](), schedule: { kind: schedule } },
      { secrets: storage === "s3" ? { s3AccessKeyId: "id", s3SecretAccessKey: "key" } : {} },
    );
    expect(run.resources.some((r) => r.type.startsWith("aws:"))).toBe(storage === "aws");
    expect(run.of(T.image)).toHaveLength(1);
    expect(run.one(T.container).secretInputs).toEqual(storage === "local" ? [] : ["envs"]);
    expect(envOf(run).OWUI_BACKUP_STORE).toBe(run.outputs.storeUrl);
    const commands = run.of(T.command);
    if (schedule === "none") expect(commands).toEqual([]);
    else expect(commands.map((c) => c.inputs.interpreter[0])).toEqual([interpreters[schedule as keyof typeof interpreters]]);
    expect(run.outputs.scheduleSummary).toMatch(new RegExp(`^${schedule}: `));
  });

  test("dockerHost: one explicit docker provider for the image and the container, and -H in the schedule", async () => {
    const run = await runProgram({ dockerHost: "ssh://backup@nas.local", storage: { kind: "local", path: path.join(tmp, "remote") }, schedule: { kind: "cron" } });
    expect(run.one("pulumi:providers:docker").inputs.host).toBe("ssh://backup@nas.local");
    expect(run.one(T.image).provider).toMatch(/pulumi:providers:docker::owui-backup-dev-engine::/);
    expect(run.one(T.container).provider).toBe(run.one(T.image).provider);
    expect(run.one(T.container).inputs.user).toBeUndefined();
    expect(run.one(T.command).inputs.create).toContain("-H ssh://backup@nas.local exec owui-backup-runner-dev");
  });
});

describe("invalid configuration", () => {
  test.each([
    [{ schedule: { time: "24:30" } }, "owui-backup:schedule.time: expected a time of day as HH:MM"],
    [{ schedule: { kind: "launchd" } }, "owui-backup:schedule.kind: expected one of cron, systemd, windows, none"],
    [{ storage: { kind: "s3", bucket: "my-owui-backups" } }, "owui-backup:storage.endpoint"],
    [{ storage: { kind: "aws", bucketName: "Bad_Bucket" } }, 'owui-backup:storage.bucketName: "Bad_Bucket" is not a valid bucket name'],
  ])("%j stops the program before any resource, naming the key", async (config, message) => {
    const failed = await runProgram(config).then(
      () => undefined,
      (err: Error & { resources?: unknown[] }) => err,
    );
    expect(failed?.message).toContain(message);
    expect(failed?.resources).toEqual([]);
  });
});
