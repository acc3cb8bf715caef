"""`object_storage_config`: where rejected rows go besides the log, in the shape Airbyte's platform reads.

Airbyte's data-activation destinations (Salesforce, HubSpot: the bulk CDK's dead-letter queue) take a config block
named `object_storage_config` with `storage_type` `None` or `S3` and the S3 fields below, under these exact names:
the platform reads `s3_bucket_name`, `s3_bucket_region`, `bucket_path` and `s3_endpoint` from it to link a sync's
rejected records (`s3://<bucket>/<bucket_path>/<job id>/`) on the connection's timeline. The output format, the
compression and the path template that Airbyte's spec keeps hidden are fixed here (JSONL, none, see rejects_s3.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, WithJsonSchema, field_validator, model_validator

from destination_stripe.config.urls import safe_url

DEFAULT_REGION = "us-east-1"  # what S3 signs with when no region is given (an S3-compatible store ignores it)


class NoObjectStorage(BaseModel):
    """Rejected rows go to the log (and `rejected_records_path`, when set) only."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="None")
    storage_type: Literal["None"] = "None"


class S3ObjectStorage(BaseModel):
    """Rejected rows are uploaded to S3 (or an S3-compatible store) as JSONL before the STATE counting them."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="S3")
    storage_type: Literal["S3"] = "S3"
    access_key_id: SecretStr | None = Field(
        None, title="Access Key ID",
        description="The access key id of a user who may write to the bucket. Empty: the standard AWS credential "
                    "chain (environment, instance or task role).",
        json_schema_extra={"airbyte_secret": True, "always_show": True, "examples": ["A012345678910EXAMPLE"],
                           "order": 1})
    secret_access_key: SecretStr | None = Field(
        None, title="Secret Access Key", description="The secret of that access key.",
        json_schema_extra={"airbyte_secret": True, "always_show": True,
                           "examples": ["a012345678910ABCDEFGH/AbCdEfGhEXAMPLEKEY"], "order": 2})
    s3_bucket_name: str = Field(
        ..., title="S3 Bucket Name", min_length=3, max_length=63,
        description="The bucket rejected rows are written to. It must exist.",
        json_schema_extra={"examples": ["airbyte-rejected-records"], "order": 4})
    s3_bucket_region: str = Field(
        "", title="S3 Bucket Region", description=f"The bucket's region. Empty: {DEFAULT_REGION}.",
        json_schema_extra={"examples": ["us-east-1"], "order": 5})
    s3_endpoint: str | None = Field(
        None, title="S3 Endpoint",
        description="For an S3-compatible store (MinIO, R2, ...): its URL. Empty: AWS S3. Must be https unless it "
                    "points at this machine, since rejected rows hold your customers' data.",
        json_schema_extra={"examples": ["https://minio.example.com:9000"], "order": 6})
    bucket_path: str = Field(
        "", title="Prefix Path in the Bucket",
        description="Every file is written under this prefix, then the sync's id and the stream name.",
        json_schema_extra={"examples": ["stripe/rejected"], "order": 7})

    @field_validator("s3_endpoint")
    @classmethod
    def _safe_endpoint(cls, value: str | None) -> str | None:
        return safe_url(value, example="https://minio.example.com:9000", clear_text="rejected rows are customer data")

    @field_validator("bucket_path")
    @classmethod
    def _path(cls, value: str) -> str:
        return value.strip().strip("/")

    @field_validator("access_key_id", "secret_access_key")
    @classmethod
    def _blank_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _both_keys(self) -> S3ObjectStorage:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together: give both, or neither to use the "
                             "standard AWS credential chain")
        return self

    @property
    def region(self) -> str:
        return self.s3_bucket_region.strip() or DEFAULT_REGION

    def secrets(self) -> list[str]:
        """What the output must never show."""
        return [s.get_secret_value() for s in (self.access_key_id, self.secret_access_key) if s is not None]


def _one_of() -> dict[str, Any]:
    """Airbyte's form renders a choice as `oneOf` whose options each hold a one-value enum: pydantic's anyOf with a
    discriminator mapping of $refs it would not resolve."""
    options = []
    for model in (NoObjectStorage, S3ObjectStorage):
        schema = model.model_json_schema()
        schema.pop("description", None)
        kind = model.model_fields["storage_type"].default
        schema["properties"]["storage_type"] = {"type": "string", "enum": [kind], "default": kind, "order": 0}
        schema["required"] = ["storage_type", *[r for r in schema.get("required", []) if r != "storage_type"]]
        schema["additionalProperties"] = True
        options.append(schema)
    return {"type": "object", "oneOf": options}


ObjectStorage = Annotated[NoObjectStorage | S3ObjectStorage, Field(discriminator="storage_type"),
                          WithJsonSchema(_one_of())]


def object_storage_secrets(raw: Any) -> list[str]:
    """The S3 credentials in a raw config (before validation, so even an invalid config's are masked)."""
    block = raw.get("object_storage_config") if isinstance(raw, dict) else None
    if not isinstance(block, dict):
        return []
    values = [block.get("access_key_id"), block.get("secret_access_key")]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()] + [
        v for v in values if isinstance(v, str) and v.strip() and v != v.strip()]


