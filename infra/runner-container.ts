import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The repository root, the build context of runner/Dockerfile (the npm workspace and its lockfile live there). */
export function repoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "runner", "Dockerfile"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`runner/Dockerfile not found in ${from} or above it`);
  }
}

/** Seconds Docker gives the runner between SIGTERM and SIGKILL. */
export const STOP_GRACE_SECONDS = 120;

export interface RunnerContainerArgs {
  /** Container name (`docker exec <name> owui-backup …`). */
  name: string;
  stack: string;
  /** The Open WebUI container it backs up (a label; the env says it too). */
  target: string;
  /** Base image passed to runner/Dockerfile as NODE_IMAGE. */
  nodeImage: string;
  /** OWUI_BACKUP_* settings. */
  env: Record<string, pulumi.Input<string>>;
  /** Credentials: stored and shown by Pulumi as secrets. */
  secretEnv?: Record<string, pulumi.Input<string>>;
  /** Bind mounts, host path → container path. */
  mounts: { source: string; target: string }[];
  /** Host directories to create (owned by whoever runs `pulumi up`) before Docker would create them as root. */
  createDirectories?: string[];
  /** uid:gid and extra groups (the socket's) to run as; omitted, the image's user (root). */
  runAs?: { user: string; groups: string[] };
  /** The main process. */
  command: string[];
  /** Store URL, without credentials (a label). */
  storeUrl: pulumi.Input<string>;
  /** os/arch of the engine the image runs on; undefined: the builder's default. */
  platform?: string;
  /** What must exist before the container starts (an aws stack's IAM policy: its key cannot work before). */
  dependsOn?: pulumi.Resource[];
  /** The host port (on 127.0.0.1 only) of the watcher's status page; undefined: not published. */
  statusPort?: number;
}

/** Where the watcher serves its status page inside the runner (published on the host's loopback). */
export const STATUS_PORT_IN_RUNNER = 9595;

/**
 * The runner: an image built from runner/Dockerfile and one long-running container with the Docker
 * socket, restarted unless stopped. The schedule `docker exec`s into it; a person can too.
 * The container references the image by its id, so every rebuild replaces it.
 */
export class RunnerContainer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** The container itself: what the schedule waits for. */
  public readonly container: docker.Container;
  public readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: RunnerContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("owui-backup:index:RunnerContainer", name, {}, opts);

    for (const dir of args.createDirectories ?? []) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

    const root = repoRoot();
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: `owui-backup-runner:${args.stack}`,
        skipPush: true,
        build: {
          context: root,
          dockerfile: path.join(root, "runner", "Dockerfile"),
          args: { NODE_IMAGE: args.nodeImage },
          ...(args.platform ? { platform: args.platform } : {}),
        },
      },
      { parent: this },
    );

    const toEnv = (vars: Record<string, pulumi.Input<string>>) => Object.entries(vars).map(([k, v]) => pulumi.interpolate`${k}=${v}`);
    const plain = toEnv(args.env);
    const secret = toEnv(args.secretEnv ?? {});
    // One secret value in the list makes Pulumi encrypt and mask the whole list.
    const envs = secret.length > 0 ? pulumi.secret(pulumi.all([...plain, ...secret])) : pulumi.all(plain);

    const labels: Record<string, pulumi.Input<string>> = {
      "owui-backup.role": "runner",
      "owui-backup.stack": args.stack,
      "owui-backup.target": args.target,
      "owui-backup.store": args.storeUrl,
    };

    const container = new docker.Container(
      name,
      {
        name: args.name,
        // The local image's id (sha256:…): a rebuilt image is a new id, so the container is replaced.
        image: image.repoDigest,
        command: args.command,
        init: true,
        restart: "unless-stopped",
        // `docker stop` (and replacement) waits for a backup in progress to clean up — a stop-mode one
        // may wait 30 s for Open WebUI to stop — before SIGKILL could leave Open WebUI stopped.
        stopTimeout: STOP_GRACE_SECONDS,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        envs,
        volumes: args.mounts.map((m) => ({ hostPath: m.source, containerPath: m.target })),
        user: args.runAs?.user,
        groupAdds: args.runAs?.groups,
        labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
        // Loopback only: the page is read-only and holds no secret, but it is nobody else's business.
        ports: args.statusPort ? [{ internal: STATUS_PORT_IN_RUNNER, external: args.statusPort, ip: "127.0.0.1" }] : [],
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      // A fixed name: the old container must be gone before its replacement can take the name.
      { parent: this, deleteBeforeReplace: true, dependsOn: args.dependsOn ?? [] },
    );

    this.container = container;
    this.containerName = container.name;
    this.imageId = image.repoDigest;
    this.registerOutputs({ containerName: this.containerName, imageId: this.imageId });
  }
}
