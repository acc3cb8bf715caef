"""Rejected rows in S3 (or an S3-compatible store), as JSONL batches uploaded before the STATE that counts them.

Layout, after the bulk CDK's object storage (the dead-letter queue of Airbyte's data-activation destinations) and
the path Airbyte's platform links to on the connection's timeline (`<bucket_path>/<job id>/`):

    <bucket_path>/<sync_id>/<stream>/<yyyy_mm_dd>_<epoch ms>_<part>.jsonl

`sync_id` is the configured catalog's (the platform's job id; `no_sync_id` when the caller sends none, as PyAirbyte
does). Each upload is one object holding the lines rejected since the previous upload for that stream: a line is
the same JSON object `rejected_records_path` gets (`stream`, `row_number`, `reason`, `code`, `param`, `request_id`,
`record`), masked the same way, so one reader reads both.

Durability is the STATE contract: `flush()` runs before every STATE echo and returns only once S3 acknowledged
every pending batch. botocore retries each upload (its `standard` mode: throttling, 5xx, connection errors); a
failure past that is a TransientError and stays one (later flushes fail at once, never skipping the lost batch), so
no STATE passes a rejected row that is not stored. A refusal that no retry can cure (no such bucket, bad or
unauthorised credentials) is a ConfigurationError.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict
from typing import Any

from destination_stripe.config.object_storage import S3ObjectStorage
from destination_stripe.errors import ConfigurationError, ConnectorError, TransientError

UPLOAD_ATTEMPTS = 5  # botocore's count, the first attempt included
BATCH_MAX_BYTES = 8 * 1024 * 1024  # a stream's pending lines are uploaded early past this, bounding memory
NO_SYNC_ID = "no_sync_id"
# S3's answers that mean the config is wrong (the bucket, the keys or their rights), not that S3 is struggling.
CONFIG_CODES = {"NoSuchBucket", "404", "403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                "InvalidBucketName", "AllAccessDisabled", "AuthorizationHeaderMalformed", "PermanentRedirect", "301",
                "InvalidToken", "ExpiredToken", "AccountProblem"}


def _boto_errors() -> tuple[type[Exception], ...]:
    # boto3 is imported only when object storage is configured: it costs about 0.4 s of start-up for every command.
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _client(settings: S3ObjectStorage) -> Any:
    import boto3
    from botocore.config import Config

    # botocore logs each retry and credential lookup at INFO/DEBUG; only its warnings reach the platform's log.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("boto3").setLevel(logging.WARNING)
    keys: dict[str, str] = {}
    if settings.access_key_id is not None and settings.secret_access_key is not None:
        keys = {"aws_access_key_id": settings.access_key_id.get_secret_value(),
                "aws_secret_access_key": settings.secret_access_key.get_secret_value()}
    return boto3.session.Session().client(
        "s3", region_name=settings.region, endpoint_url=settings.s3_endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": UPLOAD_ATTEMPTS}, connect_timeout=10,
                      read_timeout=60, s3={"addressing_style": "path" if settings.s3_endpoint else "auto"}),
        **keys)


def describe(error: Exception) -> str:
    """S3's code and message (never the request's headers, which carry the signature)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{info.get('Code', '?')} (HTTP {status}): {info.get('Message') or 'no message'}"
    return f"{type(error).__name__}: {error}"


def classify(error: Exception, what: str) -> ConnectorError:
    """The failure an S3 error ends the sync with, naming the config block to fix when it is the config's."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError) and str(error.response.get("Error", {}).get("Code")) in CONFIG_CODES:
        return ConfigurationError(f"object_storage_config: S3 refused to {what} ({describe(error)}). Check "
                                  "s3_bucket_name, s3_bucket_region, s3_endpoint and the access key's rights.")
    return TransientError(f"object_storage_config: could not {what} after {UPLOAD_ATTEMPTS} attempts "
                          f"({describe(error)}); no STATE was echoed past the rejected rows not yet stored.")


class S3RejectStore:
    """Pending JSONL lines per stream, uploaded as one object per stream on `flush()`. Not thread-safe on its own:
    RejectSink calls it under its lock."""

    def __init__(self, settings: S3ObjectStorage, *, sync_id: str | None, client: Any | None = None) -> None:
        self._settings = settings
        self._bucket = settings.s3_bucket_name
        self._prefix = "/".join(p for p in (settings.bucket_path, _segment(sync_id or NO_SYNC_ID)) if p)
        self._client = client or _client(settings)
        self._pending: dict[str, list[bytes]] = defaultdict(list)
        self._pending_bytes: dict[str, int] = defaultdict(int)
        self._parts = 0
        self._failed: ConnectorError | None = None
        self._lock = threading.Lock()
        self.uploaded: list[str] = []  # object keys, in upload order

    @property
    def location(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}/"

    def verify(self) -> None:
        """At the start of a sync: the bucket exists and these credentials may reach it (a config_error if not)."""
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except _boto_errors() as error:
            raise classify(error, f"open bucket {self._bucket!r}") from None

    def probe(self) -> None:
        """For `check`: write and delete a small object, so missing write rights show before a sync."""
        key = f"{self._prefix}/_airbyte_connection_check_{int(time.time() * 1000)}"
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=b"check\n")
        except _boto_errors() as error:
            raise classify(error, f"write to bucket {self._bucket!r}") from None
        # Writing is what syncs need: a probe object left behind (no delete right) harms nothing.
        with contextlib.suppress(*_boto_errors()):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def add(self, stream: str, line: bytes) -> None:
        with self._lock:
            self._pending[stream].append(line)
            self._pending_bytes[stream] += len(line) + 1
            full = self._pending_bytes[stream] >= BATCH_MAX_BYTES
        if full:
            self.flush()

    def flush(self) -> None:
        """Upload every pending batch; return only once S3 has them all (raise otherwise, keeping them)."""
        with self._lock:
            if self._failed is not None:
                raise self._failed
            for stream in sorted(self._pending):
                lines = self._pending[stream]
                if not lines:
                    continue
                key = self._next_key(stream)
                try:
                    self._client.put_object(Bucket=self._bucket, Key=key, Body=b"\n".join(lines) + b"\n",
                                            ContentType="application/x-ndjson")
                except _boto_errors() as error:
                    self._failed = classify(error, f"upload rejected rows to {self.location}")
                    raise self._failed from None
                self.uploaded.append(key)
                self._pending[stream] = []
                self._pending_bytes[stream] = 0

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(len(lines) for lines in self._pending.values())

    def _next_key(self, stream: str) -> str:
        now = time.time()
        name = f"{time.strftime('%Y_%m_%d', time.gmtime(now))}_{int(now * 1000)}_{self._parts}.jsonl"
        self._parts += 1
        return f"{self._prefix}/{_segment(stream or '_no_stream')}/{name}"


def _segment(name: str) -> str:
    """One path segment: a slash in a stream name would make folders of it."""
    return str(name).replace("/", "_")


def open_reject_store(settings: Any, *, sync_id: str | None) -> S3RejectStore | None:
    """The store `object_storage_config` asks for, its bucket verified; None for `storage_type` None."""
    if not isinstance(settings, S3ObjectStorage):
        return None
    store = S3RejectStore(settings, sync_id=sync_id)
    store.verify()
    return store


def catalog_sync_id(catalog: Any) -> str | None:
    """The configured catalog's `sync_id` (Airbyte sets the job id on every stream), if any."""
    streams = catalog.get("streams") if isinstance(catalog, dict) else None
    for stream in streams if isinstance(streams, list) else []:
        if isinstance(stream, dict) and stream.get("sync_id") is not None:
            return str(stream["sync_id"])
    return None
