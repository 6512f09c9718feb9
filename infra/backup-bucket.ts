import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runnerPolicy, tlsOnlyPolicy } from "./bucket-policies.js";

export interface BackupBucketArgs {
  /** Physical bucket name; omitted, namePrefix plus a random suffix. */
  bucketName?: string;
  /** Start of a generated name (lowercase letters, digits, hyphens, at most 37 characters). */
  namePrefix: string;
  /** Key prefix the runner writes under; its IAM user may touch nothing else. */
  prefix: string;
  /** SSE-KMS with this key; omitted, SSE-S3. */
  kmsKeyArn?: string;
  /** Days an overwritten or pruned object's old version is kept. */
  noncurrentVersionDays: number;
  /** Move objects of 128 KiB and more to a cheaper instantly readable class after some days. */
  transition?: { days: number; storageClass: string };
  /** Write-once retention on every object version: ransomware (or a stolen key) cannot delete it early. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number };
  /** false: `pulumi destroy` leaves the bucket, its settings and every snapshot in it. */
  destroyBucket: boolean;
  /** bucketName exists already (kept by an earlier destroy): it is imported, not created. */
  existing?: boolean;
  tags?: Record<string, string>;
}

/** A bucket name prefix from project and stack: S3 allows only lowercase letters, digits and hyphens there. */
export function bucketNamePrefix(project: string, stack: string): string {
  const words = `${project}-${stack}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-");
  return `${words.slice(0, 36).replace(/^-|-$/g, "")}-`;
}

/**
 * An S3 bucket for snapshots: versioned, encrypted, private, TLS only, cleaned up by lifecycle rules,
 * optionally object-locked, plus an IAM user whose key can reach only the runner's prefix.
 * The bucket and its settings are retained on `pulumi destroy` unless destroyBucket is set; the IAM
 * user and key are always removed (the runner that used them is gone).
 */
export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  public readonly region: pulumi.Output<string>;
  public readonly accessKeyId: pulumi.Output<string>;
  public readonly secretAccessKey: pulumi.Output<string>;
  /** True when `pulumi destroy` keeps the bucket. */
  public readonly keptOnDestroy: boolean;
  /** The runner's IAM policy: what the runner container waits for. */
  public readonly runnerPolicy: aws.iam.UserPolicy;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("owui-backup:index:BackupBucket", name, {}, opts);
    this.keptOnDestroy = !args.destroyBucket;
    // Deleting a settings resource would strip the kept bucket of it (versioning suspended, policy gone).
    const keep = { parent: this, retainOnDelete: this.keptOnDestroy };

    const bucket = new aws.s3.Bucket(
      name,
      {
        bucket: args.bucketName,
        bucketPrefix: args.bucketName ? undefined : args.namePrefix,
        // Only when the stack asks for the bucket to go: then it goes with its snapshots.
        forceDestroy: args.destroyBucket,
        tags: args.tags,
      },
      // A kept bucket taken over again (BucketAlreadyOwnedByYou otherwise); its settings are applied anew.
      // Import insists the inputs match the bucket: its tags (another stack's, or none) and forceDestroy
      // (not an S3 property) are not worth failing the adoption for.
      { ...keep, ...(args.existing && args.bucketName ? { import: args.bucketName, ignoreChanges: ["tags", "tagsAll", "forceDestroy"] } : {}) },
    );
    const bucketId = bucket.id;

    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } }, keep);

    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucketId,
        rules: [
          args.kmsKeyArn
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ],
      },
      keep,
    );

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucketId, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      keep,
    );

    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep);

    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      { bucket: bucketId, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyPolicy(arn))) },
      { ...keep, dependsOn: [publicAccess] },
    );

    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucketId,
        rules: [
          { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays },
            expiration: { expiredObjectDeleteMarker: true },
          },
          ...(args.transition
            ? [
                {
                  id: "transition-snapshots",
                  status: "Enabled",
                  // Manifests, locks and small files stay in STANDARD (IA classes bill 128 KiB minimum).
                  filter: { and: { prefix: `${args.prefix}/`, objectSizeGreaterThan: 128 * 1024 } },
                  transitions: [{ days: args.transition.days, storageClass: args.transition.storageClass }],
                },
              ]
            : []),
        ],
      },
      { ...keep, dependsOn: [versioning] },
    );

    if (args.objectLock) {
      // Enabled here rather than with the bucket's objectLockEnabled, which would replace an existing bucket.
      new aws.s3.BucketObjectLockConfiguration(
        `${name}-object-lock`,
        { bucket: bucketId, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: args.objectLock.mode, days: args.objectLock.days } } },
        { ...keep, dependsOn: [versioning] },
      );
    }

    const user = new aws.iam.User(`${name}-runner`, { path: "/owui-backup/", tags: args.tags }, { parent: this });
    this.runnerPolicy = new aws.iam.UserPolicy(
      `${name}-runner`,
      { user: user.name, policy: bucket.arn.apply((arn) => JSON.stringify(runnerPolicy(arn, args.prefix, args.kmsKeyArn))) },
      { parent: this },
    );
    const key = new aws.iam.AccessKey(`${name}-runner`, { user: user.name }, { parent: this });

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.region = bucket.region;
    this.accessKeyId = key.id;
    this.secretAccessKey = key.secret;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, region: this.region, keptOnDestroy: this.keptOnDestroy });
  }
}
