import type Docker from "dockerode";
import type { ContainerInfo } from "./container.js";

const DEFAULT_NETWORK_MODES = new Set(["default", "bridge", "host", "none", ""]);

/**
 * The `docker create` request that makes a container like the one `info` describes: name, image, env,
 * command, labels, ports, restart policy, mounts and network. Anonymous volumes are re-attached by name
 * so their data is not orphaned. Runtime-only fields (ids, state, generated hostname) are left out.
 */
export function createOptionsFromInspect(info: ContainerInfo, image: string): Docker.ContainerCreateOptions {
  const config = info.Config;
  const host: Docker.HostConfig = { ...(info.HostConfig as Docker.HostConfig) };
  const declared = new Set<string>([
    ...(host.Binds ?? []).map((b) => b.split(":")[1] ?? ""),
    ...(host.Mounts ?? []).map((m) => m.Target),
  ]);
  const anonymous = (info.Mounts ?? [])
    .filter((m) => m.Type === "volume" && m.Name && !declared.has(m.Destination))
    .map((m) => ({ Type: "volume" as const, Source: m.Name as string, Target: m.Destination, ReadOnly: !m.RW }));
  if (anonymous.length > 0) host.Mounts = [...(host.Mounts ?? []), ...anonymous];

  const networkMode = host.NetworkMode ?? "default";
  const networks = info.NetworkSettings?.Networks ?? {};
  const shortId = info.Id.slice(0, 12);
  let networkingConfig: Docker.ContainerCreateOptions["NetworkingConfig"];
  if (!DEFAULT_NETWORK_MODES.has(networkMode) && !networkMode.startsWith("container:") && networks[networkMode]) {
    const endpoint = networks[networkMode] as Docker.NetworkInfo & { Aliases?: string[] | null };
    networkingConfig = {
      EndpointsConfig: {
        [networkMode]: {
          ...(endpoint.IPAMConfig ? { IPAMConfig: endpoint.IPAMConfig } : {}),
          Aliases: (endpoint.Aliases ?? []).filter((a: string) => a !== shortId),
        },
      },
    };
  }

  const options: Docker.ContainerCreateOptions = {
    name: info.Name.replace(/^\//, ""),
    Image: image,
    Env: config.Env ?? [],
    Cmd: config.Cmd ?? undefined,
    Entrypoint: (config.Entrypoint as string[] | null | undefined) ?? undefined,
    WorkingDir: config.WorkingDir || undefined,
    User: config.User || undefined,
    Labels: config.Labels ?? {},
    ExposedPorts: config.ExposedPorts ?? undefined,
    Volumes: config.Volumes ?? undefined,
    Healthcheck: (config as { Healthcheck?: Docker.HealthConfig }).Healthcheck,
    StopSignal: (config as { StopSignal?: string }).StopSignal,
    Tty: config.Tty,
    OpenStdin: config.OpenStdin,
    StdinOnce: config.StdinOnce,
    Domainname: config.Domainname || undefined,
    // The engine sets the hostname to the short id unless the user chose one.
    Hostname: config.Hostname && config.Hostname !== shortId ? config.Hostname : undefined,
    HostConfig: host,
    ...(networkingConfig ? { NetworkingConfig: networkingConfig } : {}),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Docker.ContainerCreateOptions;
}

/** Networks other than the primary one, to connect after create (the API takes one at create time). */
export function extraNetworks(info: ContainerInfo): { name: string; aliases: string[] }[] {
  const primary = info.HostConfig.NetworkMode ?? "default";
  const shortId = info.Id.slice(0, 12);
  return Object.entries(info.NetworkSettings?.Networks ?? {})
    .filter(([name]) => name !== primary && !DEFAULT_NETWORK_MODES.has(name))
    .map(([name, endpoint]) => ({
      name,
      aliases: ((endpoint as { Aliases?: string[] | null }).Aliases ?? []).filter((a) => a !== shortId),
    }));
}

/** The container's environment as an object (seed 000's env_vars file). */
export function envObject(info: ContainerInfo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of info.Config.Env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
    else out[entry] = "";
  }
  return out;
}
