import { UsageError } from "../../errors.js";
import { withoutUserInfo } from "../../util/format.js";

/** Settings that apply to every s3:// store unless its URL says otherwise (flags and OWUI_BACKUP_S3_* env). */
export interface S3Defaults {
  endpoint?: string | undefined;
  /** The flag or variable the endpoint came from (--s3-endpoint or OWUI_BACKUP_S3_ENDPOINT). */
  endpointFrom?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
}

/** Where an S3 store is and how to talk to it. Holds no credential. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; "" for the bucket root. */
  prefix: string;
  endpoint?: string;
  /** Where the endpoint was set, for messages: a flag, a variable, or the store URL. */
  endpointFrom?: string;
  region: string;
  forcePathStyle: boolean;
  /** A named profile of the shared AWS config, for a second store with other credentials. */
  profile?: string;
  /** s3://bucket/prefix, for messages. */
  display: string;
}

const QUERY_KEYS = ["endpoint", "region", "path-style", "profile"] as const;

/** Region names as AWS and S3-compatible services spell them: us-east-1, us-west-004, auto. */
export const REGION_PATTERN = /^[a-z0-9-]+$/;

/**
 * Parses s3://BUCKET[/PREFIX][?endpoint=URL&region=R&path-style=true&profile=NAME]. Everything wrong
 * with it is a usage error found before any request; no message repeats the URL's user part.
 */
export function parseS3Url(url: string, defaults: S3Defaults = {}, env: NodeJS.ProcessEnv = process.env): S3Location {
  // Checked before anything is echoed: a secret key may contain "/", so "@" anywhere before the query counts.
  if (/^[^?#]*@/.test(url)) {
    throw new UsageError("an s3:// store URL must not hold credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or their *_FILE forms, or AWS_PROFILE) instead");
  }
  const match = /^s3:\/\/([^/?#]*)([^?#]*)(\?[^#]*)?$/i.exec(url);
  if (!match) throw new UsageError(`store ${withoutUserInfo(url)}: expected s3://BUCKET[/PREFIX]`);
  const [, authority = "", rawPath = "", rawQuery] = match;
  const bucket = authority;
  const problem = bucketNameProblem(bucket);
  if (problem) throw new UsageError(`store s3://${bucket}: invalid bucket name (${problem})`);
  const segments = rawPath.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) throw new UsageError(`store s3://${bucket}${rawPath}: the prefix must not contain . or .. segments`);
  const prefix = segments.join("/");
  const display = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;

  const query = new URLSearchParams(rawQuery?.slice(1) ?? "");
  for (const key of query.keys()) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`store ${display}: unknown URL parameter "${key}"; expected ${QUERY_KEYS.join(", ")}`);
    }
  }
  const endpoint = query.get("endpoint") ?? defaults.endpoint;
  if (endpoint !== undefined) checkEndpoint(endpoint, display);
  const pathStyle = query.get("path-style");
  const forcePathStyle =
    pathStyle !== null ? parseBoolean(pathStyle, `store ${display}: path-style`) : defaults.forcePathStyle ?? endpoint !== undefined;
  const region = query.get("region") ?? defaults.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  if (!REGION_PATTERN.test(region)) throw new UsageError(`store ${display}: region "${region}" is not a region name such as us-east-1 or auto`);
  const profile = query.get("profile") ?? undefined;
  const endpointFrom = query.get("endpoint") !== null ? "the endpoint= of the store URL" : defaults.endpointFrom;
  return {
    bucket,
    prefix,
    region,
    forcePathStyle,
    display,
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && endpointFrom ? { endpointFrom } : {}),
    ...(profile ? { profile } : {}),
  };
}

/** Why S3 would reject this bucket name (the general-purpose bucket rules), or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "3 to 63 characters";
  if (!/^[a-z0-9.-]+$/.test(name)) return "only lowercase letters, digits, dots and hyphens";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must begin and end with a letter or digit";
  if (name.includes("..")) return "no two adjacent dots";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "must not look like an IP address";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return "reserved prefix";
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return "reserved suffix";
  return undefined;
}

function checkEndpoint(endpoint: string, display: string): void {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new UsageError(`store ${display}: endpoint must be a URL such as https://s3.example.com`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`store ${display}: endpoint must start with https:// (or http:// for a server on this host)`);
  }
  if (parsed.username || parsed.password) {
    throw new UsageError(`store ${display}: the endpoint URL must not hold credentials`);
  }
}

/** true/false as settings spell them (true, 1, yes, on / false, 0, no, off); undefined for anything else. */
export function booleanWord(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  return undefined;
}

function parseBoolean(value: string, what: string): boolean {
  const parsed = booleanWord(value);
  if (parsed === undefined) throw new UsageError(`${what}: expected true or false, got "${value}"`);
  return parsed;
}
