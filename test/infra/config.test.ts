import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { ConfigError, readStackConfig, type HostFacts } from "../../infra/config.js";

/** A desktop Linux user with a rootful engine: the socket belongs to root, group docker (998). */
/** Its docker CLI: the default context, an amd64 engine. */
const dockerCli = { dockerContextHost: () => "unix:///var/run/docker.sock", enginePlatform: () => "linux/amd64" };
const linuxUser: HostFacts = { platform: "linux", homedir: "/home/ada", env: {}, uid: 1000, gid: 1000, socketOwner: () => ({ uid: 0, gid: 998 }), projectRoot: "/home/ada/owui-backup", ...dockerCli };

function read(values: Record<string, unknown>, facts: HostFacts = linuxUser, stack = "dev", dockerProviderHost?: string) {
  return readStackConfig(
    {
      project: "owui-backup",
      stack,
      dockerProviderHost,
      get: (k) => (values[k] === undefined ? undefined : String(values[k])),
      getObject: (k) => values[k],
    },
    facts,
  );
}

function problem(values: Record<string, unknown>): string {
  try {
    read(values);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("stack configuration, as a real engine runs the program", () => {
  test("a relative storage.path is relative to the project (Pulumi.yaml), not to infra/ where the engine runs the program", () => {
    expect(read({ storage: { kind: "local", path: "./backups" } }).storage).toEqual({ kind: "local", path: "/home/ada/owui-backup/backups" });
    expect(read({ storage: { kind: "local", path: "backups" } }).storage).toEqual({ kind: "local", path: "/home/ada/owui-backup/backups" });
  });

  test("the runner image is built for the engine's platform (a Mac with an amd64 NAS), or the configured one", () => {
    const asked: (string | undefined)[] = [];
    const facts = { ...linuxUser, enginePlatform: (host: string | undefined) => (asked.push(host), "linux/amd64") };
    expect(read({ dockerHost: "ssh://ada@nas" }, facts).platform).toBe("linux/amd64");
    expect(asked).toEqual(["ssh://ada@nas"]);
    expect(read({ platform: "linux/arm64" }, facts).platform).toBe("linux/arm64");
    expect(problem({ platform: "arm64" })).toBe('owui-backup:platform: expected os/arch such as linux/amd64 or linux/arm64');
    // A run that cannot ask must not quietly build for another platform (that would replace the runner).
    expect(() => read({}, { ...linuxUser, enginePlatform: () => undefined })).toThrow(/^owui-backup:platform: the Docker engine cannot be asked for its platform .*; set owui-backup:platform, e.g. linux\/amd64$/);
    expect(read({ platform: "linux/arm64" }, { ...linuxUser, enginePlatform: () => undefined }).platform).toBe("linux/arm64");
  });

  test("with no dockerHost and no DOCKER_HOST, the docker CLI's current context decides (Colima, Docker Desktop)", () => {
    const rootless = { ...linuxUser, dockerContextHost: () => "unix:///run/user/1000/docker.sock" };
    const c = read({}, rootless);
    expect(c.dockerHost).toBe("unix:///run/user/1000/docker.sock");
    // On Linux the engine runs here: its socket is mounted from that path.
    expect(c.dockerSocket).toBe("/run/user/1000/docker.sock");
    expect(read({}, { ...linuxUser, dockerContextHost: () => "unix:///var/run/docker.sock" }).dockerHost).toBeUndefined();
    expect(read({}, { ...rootless, env: { DOCKER_HOST: "tcp://10.0.0.2:2375" } }).dockerHost).toBe("tcp://10.0.0.2:2375");
    // On a Mac, Colima's engine runs in a VM: the address is this side's, the socket to mount the VM's.
    const mac = { ...linuxUser, platform: "darwin" as const, dockerContextHost: () => "unix:///Users/ada/.colima/default/docker.sock" };
    expect(read({}, mac)).toMatchObject({ dockerHost: "unix:///Users/ada/.colima/default/docker.sock", dockerSocket: "/var/run/docker.sock" });
    // Windows' named pipes are the provider's default anyway: no explicit engine, so existing stacks keep theirs.
    expect(read({}, { ...linuxUser, platform: "win32", dockerContextHost: () => "npipe:////./pipe/dockerDesktopLinuxEngine" }).dockerHost).toBeUndefined();
    // A run that cannot ask the docker CLI must not quietly switch engines.
    expect(() => read({}, { ...linuxUser, dockerContextHost: () => undefined })).toThrow(/^owui-backup:dockerHost: the docker CLI cannot be asked for its current context/);
  });

  test("Object Lock with destroyBucket: refused, naming both keys (a locked bucket can never be destroyed)", () => {
    expect(problem({ storage: { kind: "aws", objectLock: { mode: "GOVERNANCE", days: 30 }, destroyBucket: true } })).toMatch(
      /^owui-backup:storage\.destroyBucket: cannot be true with storage\.objectLock: /,
    );
  });

  test("an existing (kept) bucket is adopted by name", () => {
    expect(read({ storage: { kind: "aws", bucketName: "my-owui-backups", existing: true } }).storage).toMatchObject({ bucketName: "my-owui-backups", existing: true });
    expect(problem({ storage: { kind: "aws", existing: true } })).toBe("owui-backup:storage.existing: needs storage.bucketName, the bucket to adopt");
    expect(problem({ storage: { kind: "aws", bucketName: "b-1-x", existing: true, destroyBucket: true } })).toMatch(/^owui-backup:storage\.existing: an adopted bucket is not deleted by destroy/);
  });
});

describe("stack configuration: the weekly drill", () => {
  test("schedule.drill takes a weekday and a time; bad ones name the key", () => {
    expect(read({ schedule: { drill: { weekday: "sun", time: "03:30" } } }).schedule.drill).toEqual({ weekday: "sun", time: "03:30" });
    expect(read({}).schedule.drill).toBeUndefined();
    expect(problem({ schedule: { drill: { weekday: "sunday", time: "03:30" } } })).toBe("owui-backup:schedule.drill.weekday: expected one of mon, tue, wed, thu, fri, sat, sun");
    expect(problem({ schedule: { drill: { weekday: "sun", time: "3:30" } } })).toBe('owui-backup:schedule.drill.time: expected a time of day as HH:MM, such as "03:30"');
  });
});

describe("stack configuration", () => {
  test("defaults: local store in the per-user data directory, cron daily 02:00 and 5 min after boot, runner as the user", () => {
    const c = read({});
    expect(c.container).toBe("open-webui");
    expect(c.runnerName).toBe("owui-backup-runner-dev");
    expect(c.storage).toEqual({ kind: "local", path: "/home/ada/.local/share/owui-backup" });
    expect(c.schedule).toEqual({ kind: "cron", time: "02:00", cron: undefined, atBoot: true, bootDelayMinutes: 5, systemdScope: "user" });
    expect(c.retention).toEqual({ keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
    expect(c.runAs).toEqual({ user: "1000:1000", groups: ["998"] });
    expect(c.dockerSocket).toBe("/var/run/docker.sock");
    expect(c.nodeImage).toBe("node:24-slim");
  });

  test("platform defaults: Task Scheduler on Windows, no uid mapping there; root gets system units", () => {
    const win = read({}, { platform: "win32", homedir: "C:\\Users\\Ada", env: { LOCALAPPDATA: "C:\\Users\\Ada\\AppData\\Local" }, projectRoot: "C:\\owui-backup", ...dockerCli, dockerContextHost: () => "npipe:////./pipe/dockerDesktopLinuxEngine" });
    expect(win.schedule.kind).toBe("windows");
    expect(win.runAs).toBeUndefined();
    expect(win.storage).toMatchObject({ path: expect.stringContaining("owui-backup") });
    expect(read({ schedule: { kind: "systemd" } }, { ...linuxUser, uid: 0, gid: 0 }).schedule.systemdScope).toBe("system");
  });

  test("~ in a local path is the home directory; a unix:// docker host names the socket; a remote one maps no uid", () => {
    expect(read({ storage: { kind: "local", path: "~/backups/owui" } }).storage).toEqual({ kind: "local", path: "/home/ada/backups/owui" });
    const rootless = read({ dockerHost: "unix:///run/user/1000/docker.sock" });
    expect(rootless.dockerSocket).toBe("/run/user/1000/docker.sock");
    expect(read({ dockerHost: "ssh://ada@nas" }).runAs).toBeUndefined();
  });

  test("a rootless engine (socket owned by the user) maps no uid: container root already is the user", () => {
    const rootless = read({ dockerHost: "unix:///run/user/1000/docker.sock" }, { ...linuxUser, socketOwner: () => ({ uid: 1000, gid: 1000 }) });
    expect(rootless.runAs).toBeUndefined();
  });

  test("one engine for provider and schedule: dockerHost, else docker:host, else DOCKER_HOST", () => {
    expect(read({}, linuxUser, "dev", "tcp://nas:2376").dockerHost).toBe("tcp://nas:2376");
    expect(read({}, { ...linuxUser, env: { DOCKER_HOST: "ssh://ada@nas" } }).dockerHost).toBe("ssh://ada@nas");
    expect(read({ dockerHost: "unix:///x.sock" }, { ...linuxUser, env: { DOCKER_HOST: "ssh://ada@nas" } }, "dev", "tcp://nas:2376").dockerHost).toBe("unix:///x.sock");
    expect(read({}).dockerHost).toBeUndefined();
  });

  test("aws and s3 storage keep their options and defaults", () => {
    expect(read({ storage: { kind: "aws" } }).storage).toEqual({ kind: "aws", prefix: "open-webui", noncurrentVersionDays: 30, destroyBucket: false, existing: false });
    expect(read({ storage: { kind: "s3", endpoint: "https://s3.us-west-004.backblazeb2.com", bucket: "my-owui", region: "us-west-004" } }).storage).toEqual({
      kind: "s3",
      endpoint: "https://s3.us-west-004.backblazeb2.com",
      bucket: "my-owui",
      prefix: "open-webui",
      region: "us-west-004",
    });
  });

  test.each([
    [{ schedule: { time: "25:00" } }, 'owui-backup:schedule.time: expected a time of day as HH:MM, such as "02:00"'],
    [{ schedule: { time: "2am" } }, "owui-backup:schedule.time: expected a time of day as HH:MM"],
    [{ schedule: { kind: "hourly" } }, "owui-backup:schedule.kind: expected one of cron, systemd, windows, none"],
    [{ schedule: { cron: "0 2 * *" } }, "owui-backup:schedule.cron: expected five fields"],
    [{ schedule: { cron: "0 24 * * *" } }, 'owui-backup:schedule.cron: "24" is not a valid hour (0-23)'],
    [{ schedule: { cron: "*/0 2 * * *" } }, 'owui-backup:schedule.cron: "*/0" is not a valid minute'],
    [{ schedule: { kind: "systemd", cron: "0 2 * * *" } }, "owui-backup:schedule.cron: only the cron schedule takes an expression"],
    [{ schedule: { bootDelayMinutes: -1 } }, "owui-backup:schedule.bootDelayMinutes:"],
    [{ storage: { kind: "ftp" } }, "owui-backup:storage.kind: expected kind: local, aws or s3"],
    [{ storage: { kind: "s3", bucket: "my-owui" } }, "owui-backup:storage.endpoint:"],
    [{ storage: { kind: "s3", endpoint: "s3.example.com", bucket: "my-owui" } }, "owui-backup:storage.endpoint: expected an http(s):// URL"],
    [{ storage: { kind: "aws", bucketName: "My_Backups" } }, 'owui-backup:storage.bucketName: "My_Backups" is not a valid bucket name'],
    [{ storage: { kind: "s3", endpoint: "https://x.test", bucket: "ab" } }, "owui-backup:storage.bucket: \"ab\" is not a valid bucket name: it must be 3 to 63"],
    [{ storage: { kind: "aws", prefix: "/host-a/" } }, "owui-backup:storage.prefix: expected key segments"],
    // A wildcard in IAM policies would grant the whole bucket.
    [{ storage: { kind: "aws", prefix: "*" } }, "owui-backup:storage.prefix: expected key segments"],
    [{ storage: { kind: "aws", transition: { days: 7, storageClass: "STANDARD_IA" } } }, "owui-backup:storage.transition.days: S3 moves objects to STANDARD_IA or ONEZONE_IA after 30 days"],
    [{ storage: { kind: "aws", bucketName: "xn--owui" } }, "must not start with a prefix S3 reserves"],
    [{ storage: { kind: "s3", endpoint: "https://key:secret@s3.example.test", bucket: "my-owui" } }, "owui-backup:storage.endpoint: expected an http(s):// URL without credentials"],
    [{ schedule: { cron: "5/10 * * * *" } }, 'owui-backup:schedule.cron: "5/10" is not a valid minute'],
    [{ storage: { kind: "aws", transition: { days: 30, storageClass: "GLACIER" } } }, "owui-backup:storage.transition.storageClass: expected STANDARD_IA"],
    [{ storage: { kind: "aws", objectLock: { mode: "STRICT", days: 7 } } }, "owui-backup:storage.objectLock.mode: expected GOVERNANCE or COMPLIANCE"],
    [{ storage: { kind: "aws", kmsKeyArn: "alias/backups" } }, "owui-backup:storage.kmsKeyArn: expected a KMS key ARN"],
    [{ storage: { kind: "local", pth: "/x" } }, "owui-backup:storage:"],
    [{ retention: { keepDaily: 1.5 } }, "owui-backup:retention.keepDaily: expected a whole number"],
    [{ container: "open webui" }, "owui-backup:container: expected a container name"],
    [{ dockerHost: "/var/run/docker.sock" }, "owui-backup:dockerHost: expected unix://, tcp://, ssh:// or npipe://"],
    // cron turns % into a newline; quotes would end the generated scripts' quoting.
    [{ dockerHost: "tcp://10%2e0.0.1:2376" }, "owui-backup:dockerHost: expected unix://"],
  ])("refuses %j naming the key", (values, message) => {
    const text = problem(values);
    expect(text).toContain(message);
    expect(text.split("\n")).toHaveLength(1);
  });

  test("valid cron expressions pass", () => {
    for (const cron of ["30 2 * * *", "*/15 1-5 * * mon-fri", "0 3 1,15 * *", "0 4 * jan-jun 0", "5 0 * * 7"]) {
      expect(read({ schedule: { cron } }).schedule.cron).toBe(cron);
    }
  });

  test("Pulumi.yaml declares only keys with a default (Pulumi refuses a stack that lacks a declared key)", () => {
    const project = parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../Pulumi.yaml"), "utf8")) as { config: Record<string, { type?: string; default?: unknown }> };
    for (const [key, declared] of Object.entries(project.config)) {
      expect(declared.default, key).toBeDefined();
      expect(read({ [key.slice("owui-backup:".length)]: declared.default })).toBeDefined();
    }
  });

  test("the shipped stacks are valid: dev (local, cron), aws (bucket) and b2 (existing S3-compatible bucket)", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const stacks = Object.fromEntries(
      ["dev", "aws", "b2"].map((name) => {
        const file = parse(fs.readFileSync(path.join(root, `Pulumi.${name}.yaml`), "utf8")) as { config: Record<string, unknown> };
        const values = Object.fromEntries(Object.entries(file.config).filter(([k]) => k.startsWith("owui-backup:")).map(([k, v]) => [k.slice("owui-backup:".length), v]));
        // Secrets are never committed.
        expect(JSON.stringify(file)).not.toMatch(/secure:|SecretAccessKey|s3AccessKeyId/);
        return [name, read(values, linuxUser, name)];
      }),
    );
    expect(stacks.dev!.storage.kind).toBe("local");
    expect(stacks.dev!.schedule.kind).toBe("cron");
    expect(stacks.aws!.storage).toMatchObject({ kind: "aws", destroyBucket: false });
    expect(stacks.b2!.storage).toMatchObject({ kind: "s3", endpoint: expect.stringMatching(/^https:\/\//) });
  });
});
