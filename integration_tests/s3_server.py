"""A real S3-compatible server for the tests: moto's standalone server (moto[server]), spoken to over HTTP by boto3.

Nothing is mocked in the client: the connector's boto3 signs and sends real requests to a server on loopback, the
way it would to MinIO. Two kinds:

- `ThreadedMotoServer` in the test process, on a free port: accepts any credentials (moto's default), so tests can
  create buckets and read what the connector uploaded; one can be stopped mid-sync to make uploads fail.
- `python -m moto.server` as a child process with `INITIAL_NO_AUTH_ACTION_COUNT=0`: moto then checks every
  request's credentials against its IAM, so unknown keys are refused as S3 refuses them (InvalidAccessKeyId).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

# Credentials the tests use; long and unusual so a leak is found by a plain substring search.
ACCESS_KEY_ID = "AKIA" + "S3TESTACCESSKEY7Q2Z"
SECRET_ACCESS_KEY = "s3TestSecret/" + "Xq7vB2nL9pR4tW8yZ1cF5hJ3kM6"
S3_SECRETS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
REGION = "eu-west-1"


class S3Server:
    def __init__(self, server: ThreadedMotoServer) -> None:
        self._server = server
        host, port = server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                                   aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)

    def create_bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def stop(self) -> None:
        self._server.stop()

    def config(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        """An `object_storage_config` block for this server."""
        return {"storage_type": "S3", "s3_bucket_name": bucket, "s3_bucket_region": REGION, "s3_endpoint": self.url,
                "access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY, "bucket_path": "stripe",
                **overrides}


@contextmanager
def s3_server() -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    s3 = S3Server(server)
    try:
        yield s3
    finally:
        s3.stop()


@contextmanager
def s3_server_checking_credentials() -> Iterator[str]:
    """The URL of a moto server that refuses keys its IAM does not know."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("moto's server did not start within 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
