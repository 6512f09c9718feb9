import { FailureError, InterruptedError, NotFoundError } from "../../errors.js";
import type { S3Location } from "./s3-location.js";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** The HTTP status of an SDK error, or of the SDK error an explained error wraps. */
export function httpStatus(err: unknown): number | undefined {
  const e = err as SdkErrorShape & { cause?: SdkErrorShape };
  return e?.$metadata?.httpStatusCode ?? e?.cause?.$metadata?.httpStatusCode;
}

/**
 * An SDK error as one line that names the store and says what to do. Never includes a credential:
 * only the store's bucket/prefix, its endpoint and the error's code.
 */
export function explainS3Error(err: unknown, location: S3Location, doing: string): Error {
  if (err instanceof FailureError || err instanceof InterruptedError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? "Error";
  const status = httpStatus(err);
  const where = `store ${location.display}${location.endpoint ? ` at ${new URL(location.endpoint).host}` : ""}`;
  const fail = (text: string) => new FailureError(`${where}: ${doing}: ${text}`, { cause: err });
  if (name === "AbortError" || name === "AbortSignal") return err as Error;
  if (name === "CredentialsProviderError") {
    return fail("no S3 credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their *_FILE forms, or AWS_PROFILE)");
  }
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AccessDenied", "Forbidden"].includes(name) || status === 403 || status === 401) {
    return fail(`access denied (${name === "Unknown" || name === "UnknownError" ? `HTTP ${status}` : name}); check the credentials and that they may use bucket ${location.bucket}`);
  }
  if (name === "NoSuchBucket") return fail(`bucket ${location.bucket} does not exist; create it or fix the store URL`);
  if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed" || status === 301) {
    return fail(`bucket ${location.bucket} is in another region than ${location.region}; set OWUI_BACKUP_S3_REGION`);
  }
  if (name === "NoSuchKey" || name === "NotFound") return new NotFoundError(`${where}: ${doing}: not found`, { cause: err });
  const code = e.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  if ((code && NETWORK_CODES.has(code)) || name === "TimeoutError") {
    const check = location.endpoint ? `check ${location.endpointFrom ?? "the endpoint"} and the network` : "check the network";
    return fail(`cannot reach ${location.endpoint ?? "S3"} (${code ?? name}); ${check}`);
  }
  if (status !== undefined && status >= 500) {
    return fail(`server error ${name} (HTTP ${status}) after ${e.$metadata?.attempts ?? 1} attempts; try again later`);
  }
  return fail(`${name}${status ? ` (HTTP ${status})` : ""}: ${firstLine(e.message ?? "")}`);
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 200);
}
