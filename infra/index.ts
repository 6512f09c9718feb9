import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket, bucketNamePrefix } from "./backup-bucket.js";
import { checkNotifyUrls, ConfigError, readStackConfig, type StackConfig } from "./config.js";
import { readHostFacts } from "./host-facts.js";
import { RunnerContainer } from "./runner-container.js";
import { restoreCommands, runnerSettings } from "./runner-settings.js";
import { Schedule } from "./schedule.js";
import { describeWhen } from "./schedule/scheduled-backup.js";

/**
 * The Pulumi program: reads the stack's configuration, then wires a bucket (aws stacks), the runner
 * container and the schedule together. Everything else lives in the components.
 */
function readConfig(cfg: pulumi.Config): StackConfig {
  try {
    return readStackConfig(
      {
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        get: (k) => cfg.get(k),
        getObject: (k) => cfg.getObject(k),
        dockerProviderHost: new pulumi.Config("docker").get("host"),
      },
      readHostFacts(),
    );
  } catch (err) {
    // One line naming the key, no stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const cfg = new pulumi.Config();
const config = readConfig(cfg);
// Notification URLs hold tokens and passwords: a secret. Checked now (before any resource) from the
// plain value the engine hands the program, then kept secret on its way to the runner.
const notify = (() => {
  const raw = pulumi.runtime.getConfig(`${cfg.name}:notify`);
  if (!raw) return undefined;
  try {
    return pulumi.secret(checkNotifyUrls(raw));
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
})();
const { storage } = config;
const tags = { "owui-backup:stack": config.stack, "owui-backup:container": config.container };

const bucket =
  storage.kind === "aws"
    ? new BackupBucket(`${config.project}-${config.stack}`, {
        bucketName: storage.bucketName,
        namePrefix: bucketNamePrefix(config.project, config.stack),
        prefix: storage.prefix,
        kmsKeyArn: storage.kmsKeyArn,
        noncurrentVersionDays: storage.noncurrentVersionDays,
        transition: storage.transition,
        objectLock: storage.objectLock,
        destroyBucket: storage.destroyBucket,
        existing: storage.existing,
        tags,
      })
    : undefined;

const credentials =
  storage.kind === "s3"
    ? { AWS_ACCESS_KEY_ID: cfg.requireSecret("s3AccessKeyId"), AWS_SECRET_ACCESS_KEY: cfg.requireSecret("s3SecretAccessKey") }
    : bucket && { AWS_ACCESS_KEY_ID: bucket.accessKeyId, AWS_SECRET_ACCESS_KEY: bucket.secretAccessKey };

const settings = runnerSettings(config, bucket && { bucket: bucket.bucketName, region: bucket.region });

// The same engine for the image, the container and the schedule's `docker -H` (config.ts chose it).
const engine = config.dockerHost ? new docker.Provider(`${config.project}-${config.stack}-engine`, { host: config.dockerHost }) : undefined;
const onEngine = engine ? { providers: { docker: engine } } : undefined;

// When backups run, as the schedule entries and the runner's status page both need it.
const times = {
  time: config.schedule.time,
  cron: config.schedule.cron,
  bootDelayMinutes: config.schedule.atBoot ? config.schedule.bootDelayMinutes : undefined,
};

const runner = new RunnerContainer(`${config.project}-${config.stack}-runner`, {
  name: config.runnerName,
  stack: config.stack,
  target: config.container,
  nodeImage: config.nodeImage,
  // The schedule, in words, for the status page.
  env: {
    ...settings.env,
    OWUI_BACKUP_SCHEDULE: describeWhen(config.schedule.kind, times),
    // A daily time runs in this host's time zone (cron, the timer, Task Scheduler): the page computes the next run.
    ...(config.schedule.kind !== "none" && !config.schedule.cron
      ? { OWUI_BACKUP_SCHEDULE_AT: config.schedule.time, OWUI_BACKUP_SCHEDULE_TZ: Intl.DateTimeFormat().resolvedOptions().timeZone }
      : {}),
  },
  secretEnv: { ...credentials, ...(notify ? { OWUI_BACKUP_NOTIFY: notify } : {}) },
  mounts: settings.mounts,
  // Made by us before Docker would make them as root, when the runner runs as us (not on preview).
  createDirectories: config.runAs && !pulumi.runtime.isDryRun() ? settings.directories : [],
  runAs: config.runAs,
  // The watcher: backs up on changes to the container; the schedule execs scheduled backups beside it.
  command: ["owui-backup", "watch"],
  storeUrl: settings.storeUrl,
  platform: config.platform,
  ...(config.statusPort ? { statusPort: config.statusPort } : {}),
  dependsOn: bucket ? [bucket.runnerPolicy] : [],
}, onEngine);

const schedule = new Schedule(`${config.project}-${config.stack}-schedule`, {
  kind: config.schedule.kind,
  project: config.project,
  stack: config.stack,
  runnerName: config.runnerName,
  container: config.container,
  dockerHost: config.dockerHost,
  ...times,
  systemdScope: config.schedule.systemdScope,
  ...(config.schedule.drill ? { drill: config.schedule.drill } : {}),
}, { dependsOn: [runner.container] });

export const storeUrl = settings.storeUrl;
export const bucketName = bucket?.bucketName;
export const bucketArn = bucket?.bucketArn;
export const bucketOnDestroy = bucket
  ? bucket.keptOnDestroy
    ? pulumi.interpolate`kept: pulumi destroy leaves bucket ${bucket.bucketName} and every snapshot. To use it again after a destroy, set storage.bucketName to ${bucket.bucketName} and storage.existing to true: OWUI_BACKUP_STACK=${config.stack} npm run pulumi -- config set --path owui-backup:storage.bucketName ${bucket.bucketName}; OWUI_BACKUP_STACK=${config.stack} npm run pulumi -- config set --path owui-backup:storage.existing true; then OWUI_BACKUP_STACK=${config.stack} npm run up`
    : "deleted with every snapshot on pulumi destroy (storage.destroyBucket is true)"
  : undefined;
export const runnerContainer = runner.containerName;
export const scheduleSummary = schedule.summary;
const restore = pulumi.all([settings.storeUrl, settings.env.OWUI_BACKUP_S3_REGION]).apply(([url, region]) => restoreCommands(config, url, region));
export const restoreCommand = restore.viaRunner;
export const restoreOnHost = restore.onHost;
