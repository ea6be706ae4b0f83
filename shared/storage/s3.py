"""Backblaze B2 through its S3 API (boto3). Locally the same code talks to moto's S3 server.

boto3 is imported on first use: it costs ~150 ms and only storage routes need it. Presigned URLs are SigV4
(without an explicit signature_version boto3 signs custom endpoints with SigV2).
"""

from __future__ import annotations

import builtins  # Storage.list shadows the builtin inside the class
import threading
from functools import lru_cache
from typing import Any, BinaryIO

from shared.config import get_config


class Storage:
    def __init__(self, endpoint_url: str, region: str, key_id: str, secret: str, bucket: str,
                 public_base_url: str = ""):
        self.endpoint_url = endpoint_url
        self.region = region
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/")
        self._key_id = key_id
        self._secret = secret
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config as BotoConfig

                    self._client = boto3.client(
                        "s3",
                        endpoint_url=self.endpoint_url or None,
                        region_name=self.region,
                        aws_access_key_id=self._key_id,
                        aws_secret_access_key=self._secret,
                        config=BotoConfig(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                                          connect_timeout=5, read_timeout=60, s3={"addressing_style": "path"}),
                    )
                    from shared.usage.b2 import count_request

                    # every request B2 receives is a billed transaction (class A/B/C): the usage meter
                    self._client.meta.events.register("before-send.s3", count_request)
        return self._client

    # --- checks ---------------------------------------------------------------------------
    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    # --- objects --------------------------------------------------------------------------
    def head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def upload_file(self, path: str, key: str, content_type: str) -> None:
        """Multipart from disk in 8 MB parts: memory stays bounded whatever the file size."""
        from boto3.s3.transfer import TransferConfig

        cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2,
                             use_threads=True)
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=cfg)

    def download_file(self, key: str, path: str) -> None:
        from boto3.s3.transfer import TransferConfig

        cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
        self.client.download_file(self.bucket, key, path, Config=cfg)

    def stream(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str, *, continuation_token: str | None = None, limit: int = 100) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if continuation_token:
            kwargs["ContinuationToken"] = continuation_token
        return self.client.list_objects_v2(**kwargs)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """The first bytes of an object (content sniffing) without downloading it."""
        if length <= 0:
            return b""
        resp = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")
        return resp["Body"].read()

    # --- multipart (browser uploads straight to the bucket) ---------------------------------
    def create_multipart_upload(self, key: str, content_type: str) -> str:
        return self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)["UploadId"]

    def presign_upload_part(self, key: str, upload_id: str, part_number: int, expires: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "upload_part", Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                                   "PartNumber": part_number}, ExpiresIn=expires)

    def complete_multipart_upload(self, key: str, upload_id: str, parts: builtins.list[dict[str, Any]]) -> None:
        """`parts` as [{"PartNumber": n, "ETag": "..."}], ascending."""
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
                raise

    def list_multipart_uploads(self, prefix: str = "") -> builtins.list[dict[str, Any]]:
        """Every in-progress multipart upload under `prefix` (Key, UploadId, Initiated), all pages."""
        out: builtins.list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            resp = self.client.list_multipart_uploads(**kwargs)
            out.extend(resp.get("Uploads", []))
            if not resp.get("IsTruncated"):
                return out
            kwargs["KeyMarker"] = resp.get("NextKeyMarker", "")
            kwargs["UploadIdMarker"] = resp.get("NextUploadIdMarker", "")

    # --- URLs -----------------------------------------------------------------------------
    def presign_get(self, key: str, expires: int = 3600) -> str:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires)

    def presign_put(self, key: str, content_type: str, expires: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires)

    def public_url(self, key: str) -> str:
        """A stable URL when the bucket is public (B2_PUBLIC_BASE_URL); otherwise a 7-day presigned GET,
        the longest SigV4 allows, so platforms that fetch media later can still read it."""
        if self.public_base_url:
            return f"{self.public_base_url}/{key}"
        return self.presign_get(key, expires=7 * 24 * 3600)


@lru_cache(maxsize=1)
def _storage(endpoint: str, region: str, key_id: str, secret: str, bucket: str, public: str) -> Storage:
    return Storage(endpoint, region, key_id, secret, bucket, public)


def get_storage() -> Storage:
    cfg = get_config()
    if not cfg.b2_bucket:
        raise RuntimeError("B2_BUCKET is not set")
    return _storage(cfg.b2_endpoint_url, cfg.b2_region, cfg.b2_key_id, cfg.b2_application_key, cfg.b2_bucket,
                    cfg.b2_public_base_url)


def reset_storage() -> None:
    _storage.cache_clear()
