import fs from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { UsageError } from "../../errors.js";
import type { S3Location } from "./s3-location.js";

/**
 * Docker secrets arrive as files: AWS_ACCESS_KEY_ID_FILE and AWS_SECRET_ACCESS_KEY_FILE (and optionally
 * AWS_SESSION_TOKEN_FILE) name them. Without these, the SDK's default chain applies: env, shared
 * profile, container or instance role.
 */
export function credentialsFromFiles(env: NodeJS.ProcessEnv): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  const idFile = env.AWS_ACCESS_KEY_ID_FILE;
  const secretFile = env.AWS_SECRET_ACCESS_KEY_FILE;
  if (!idFile && !secretFile) return undefined;
  if (!idFile || !secretFile) {
    throw new UsageError("set both AWS_ACCESS_KEY_ID_FILE and AWS_SECRET_ACCESS_KEY_FILE, or neither");
  }
  const read = (variable: string, file: string) => {
    try {
      return fs.readFileSync(file, "utf8").trim();
    } catch (err) {
      throw new UsageError(`cannot read the file named by ${variable} (${(err as NodeJS.ErrnoException).code ?? "error"}): check the path and its permissions`);
    }
  };
  const tokenFile = env.AWS_SESSION_TOKEN_FILE;
  return {
    accessKeyId: read("AWS_ACCESS_KEY_ID_FILE", idFile),
    secretAccessKey: read("AWS_SECRET_ACCESS_KEY_FILE", secretFile),
    ...(tokenFile ? { sessionToken: read("AWS_SESSION_TOKEN_FILE", tokenFile) } : {}),
  };
}

/** Keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the first link of the SDK's chain, read from `env`. */
function credentialsFromEnv(env: NodeJS.ProcessEnv): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

export function createS3Client(location: S3Location, env: NodeJS.ProcessEnv = process.env): S3Client {
  // The SDK warns on every run under Node 20 about its future support policy; a CLI's output is not the place.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // A profile named in the store URL wins over keys in the environment; otherwise the default chain.
  const credentials = location.profile ? undefined : credentialsFromEnv(env) ?? credentialsFromFiles(env);
  const attempts = Number(env.AWS_MAX_ATTEMPTS);
  return new S3Client({
    region: location.region,
    forcePathStyle: location.forcePathStyle,
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    ...(location.profile ? { profile: location.profile } : {}),
    ...(credentials ? { credentials } : {}),
    // The SDK's standard retry mode backs off on throttling, 5xx and dropped connections.
    maxAttempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 5,
    // A server that accepts the connection and then goes silent for 2 minutes fails the attempt (and is
    // retried) instead of hanging the run.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
  });
}
