/**
 * IAM and bucket policy documents as pure functions of ARNs (awsx style): tested without mocks, used by
 * BackupBucket with the bucket's real ARN.
 */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Record<string, unknown>[];
}

/** Refuses every request to the bucket that does not come over TLS. */
export function tlsOnlyPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/**
 * What the runner may do, and nothing else: list keys under its prefix, read, write and delete objects
 * under it, and abort its own multipart uploads (creating and completing them is s3:PutObject). Listing
 * open multipart uploads is left out (it cannot be limited to a prefix); the bucket's lifecycle rule
 * removes abandoned uploads after a day instead. With SSE-KMS it may use the key for data keys only.
 */
export function runnerPolicy(bucketArn: string, prefix: string, kmsKeyArn?: string): PolicyDocument {
  const statements: Record<string, unknown>[] = [
    {
      Sid: "ListUnderPrefix",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } },
    },
    {
      Sid: "ObjectsUnderPrefix",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: `${bucketArn}/${prefix}/*`,
    },
  ];
  if (kmsKeyArn) {
    statements.push({ Sid: "UseBucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn });
  }
  return { Version: "2012-10-17", Statement: statements };
}
