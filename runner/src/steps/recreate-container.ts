import type Docker from "dockerode";
import type { Logger } from "pino";
import { statusOf } from "../docker/client.js";
import { createOptionsFromInspect, extraNetworks } from "../docker/create-options.js";
import type { ContainerInfo } from "../docker/container.js";
import { FailureError, oneLine } from "../errors.js";

/**
 * The image to recreate a container from: the snapshot's exact image when it is still on this host
 * (Open WebUI's migrations are one-way, so the version matters), else its reference as it resolves now,
 * pulled if needed.
 */
export async function resolveImage(docker: Docker, saved: ContainerInfo, log: Logger): Promise<string> {
  const reference = saved.Config.Image;
  const byReference = await docker.getImage(reference).inspect().catch(() => undefined);
  if (byReference && byReference.Id === saved.Image) return reference;
  const byId = await docker.getImage(saved.Image).inspect().catch(() => undefined);
  if (byId) {
    if (byReference) log.warn(`${reference} now names another image; recreating from the snapshot's image ${saved.Image.slice(7, 19)}`);
    return saved.Image;
  }
  if (byReference) {
    log.warn(`the snapshot's image ${saved.Image.slice(7, 19)} is no longer on this host; using ${reference} as it is now`);
    return reference;
  }
  log.info(`pulling ${reference}`);
  try {
    const stream = await docker.pull(reference);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    return reference;
  } catch (err) {
    throw new FailureError(`image ${reference} is not on this host and could not be pulled (${oneLine(err)}); pull it, then retry`);
  }
}

/** Creates the container `saved` describes, with its networks; returns the new container's inspect. */
export async function createFromInspect(docker: Docker, saved: ContainerInfo, image: string): Promise<ContainerInfo> {
  const options = createOptionsFromInspect(saved, image);
  let created: Docker.Container;
  try {
    created = await docker.createContainer(options);
  } catch (err) {
    throw new FailureError(`could not recreate container ${options.name}: ${oneLine(err)}`, { cause: err });
  }
  try {
    for (const network of extraNetworks(saved)) {
      await docker
        .getNetwork(network.name)
        .connect({ Container: created.id, EndpointConfig: { Aliases: network.aliases } })
        .catch((err: unknown) => {
          throw new FailureError(`could not connect the recreated container to network ${network.name}: ${oneLine(err)}`);
        });
    }
    return await created.inspect();
  } catch (err) {
    // A half-made container would hold the name the old one must get back.
    await created.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** Renames a container out of the way (keeping it, and its volumes, until the new one works). */
export async function renameAside(docker: Docker, info: ContainerInfo, suffix: string): Promise<{ name: string; restore: () => Promise<void> }> {
  const original = info.Name.replace(/^\//, "");
  const aside = `${original}-before-restore-${suffix}`;
  await docker.getContainer(info.Id).rename({ name: aside });
  return {
    name: aside,
    restore: async () => {
      await docker
        .getContainer(info.Id)
        .rename({ name: original })
        .catch((err) => {
          if (statusOf(err) !== 404) throw err;
        });
    },
  };
}
