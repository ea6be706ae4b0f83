"""Which Backblaze B2 transaction class an S3 API call is billed as (pure).

Source: https://www.backblaze.com/cloud-storage/transaction-pricing (2026). Class A (uploads, deletes,
multipart) is free; class B (downloads, object info) and class C (listings, bucket calls, copies) have 2,500
free calls a day each. Anything not listed is class A.
"""

from __future__ import annotations

CLASS_B = frozenset({"GetObject", "HeadObject", "GetObjectLegalHold", "GetObjectLockConfiguration",
                     "GetObjectRetention"})
CLASS_C = frozenset({
    "CopyObject", "UploadPartCopy", "CreateBucket", "DeleteBucketCors", "DeleteBucketEncryption", "GetBucketAcl",
    "GetBucketCors", "GetBucketEncryption", "GetBucketLocation", "GetBucketVersioning", "GetObjectAcl",
    "HeadBucket", "ListBuckets", "ListMultipartUploads", "ListObjects", "ListObjectsV2", "ListObjectVersions",
    "ListParts", "PutBucketAcl", "PutBucketCors", "PutBucketEncryption", "PutObjectAcl",
})


def transaction_class(operation: str) -> str:
    if operation in CLASS_B:
        return "b2.class_b"
    if operation in CLASS_C:
        return "b2.class_c"
    return "b2.class_a"


def count_request(event_name: str = "", **_) -> None:
    """botocore `before-send.s3.<Operation>` handler: one billed transaction per HTTP request sent (a
    retried request reaches B2 again and is billed again)."""
    from shared.usage import meter

    meter.count(transaction_class(event_name.rsplit(".", 1)[-1]))
