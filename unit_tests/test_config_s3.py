"""`object_storage_config`: Airbyte's block and names, the rules a config must meet, and its credentials kept out of
messages (the S3 side itself is tested against a real S3-compatible server in integration_tests/test_rejects_s3.py)."""

from __future__ import annotations

import pytest

from destination_stripe.adapters.spec import spec_message
from destination_stripe.config import load_config
from destination_stripe.config.object_storage import NoObjectStorage, S3ObjectStorage, object_storage_secrets
from destination_stripe.core.rejects_s3 import catalog_sync_id
from destination_stripe.errors import ConfigurationError

KEY = "sk_test_" + "ConfigS3UnitKey0123456789"
ACCESS = "AKIA" + "UNITTESTACCESS12"
SECRET = "unit/" + "SecretAccessKeyValue0123456789"


def _config(**block: object) -> object:
    return load_config({"api_key": KEY, "object_storage_config": {"storage_type": "S3", **block}})


def test_no_block_or_storage_type_none_means_no_object_storage() -> None:
    assert isinstance(load_config({"api_key": KEY}).object_storage_config, NoObjectStorage)
    assert isinstance(load_config({"api_key": KEY, "object_storage_config": {"storage_type": "None"}})
                      .object_storage_config, NoObjectStorage)


def test_an_airbyte_shaped_block_is_read_with_its_hidden_fields_ignored() -> None:
    storage = _config(s3_bucket_name="rejects", s3_bucket_region="eu-west-1", bucket_path="/stripe/rejected/",
                      access_key_id=ACCESS, secret_access_key=SECRET, format={"format_type": "JSONL"},
                      path_format="{sync_id}/", file_name_format="{date}").object_storage_config
    assert isinstance(storage, S3ObjectStorage)
    assert (storage.s3_bucket_name, storage.region, storage.bucket_path) == ("rejects", "eu-west-1", "stripe/rejected")
    assert sorted(storage.secrets()) == sorted([ACCESS, SECRET])


@pytest.mark.parametrize(("block", "names"), [
    ({}, "s3_bucket_name"),
    ({"s3_bucket_name": "b"}, "s3_bucket_name"),  # shorter than S3 allows
    ({"s3_bucket_name": "bucket", "access_key_id": ACCESS}, "secret_access_key"),  # one key without the other
    ({"s3_bucket_name": "bucket", "secret_access_key": SECRET}, "access_key_id"),
    ({"s3_bucket_name": "bucket", "s3_endpoint": "http://minio.example.com:9000"}, "s3_endpoint"),
    ({"s3_bucket_name": "bucket", "s3_endpoint": "ftp://127.0.0.1"}, "s3_endpoint"),
])
def test_a_block_that_cannot_work_is_a_config_error_naming_the_field_and_never_a_key(block, names) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _config(**block)
    assert "object_storage_config" in raised.value.message and names in raised.value.message
    assert SECRET not in raised.value.message and ACCESS not in raised.value.message


def test_http_is_accepted_to_this_machine_only() -> None:
    storage = _config(s3_bucket_name="bucket", s3_endpoint="http://127.0.0.1:9000/").object_storage_config
    assert isinstance(storage, S3ObjectStorage) and storage.s3_endpoint == "http://127.0.0.1:9000"


def test_the_raw_configs_credentials_are_found_for_masking_even_padded() -> None:
    raw = {"object_storage_config": {"access_key_id": f" {ACCESS} ", "secret_access_key": SECRET}}
    assert set(object_storage_secrets(raw)) == {ACCESS, f" {ACCESS} ", SECRET}
    assert object_storage_secrets({"object_storage_config": "S3"}) == []


def test_the_spec_offers_none_or_s3_as_airbyte_names_them_with_the_keys_secret() -> None:
    prop = spec_message()["spec"]["connectionSpecification"]["properties"]["object_storage_config"]
    options = {option["title"]: option for option in prop["oneOf"]}
    assert set(options) == {"None", "S3"}
    s3 = options["S3"]["properties"]
    assert s3["storage_type"]["enum"] == ["S3"]
    assert {"s3_bucket_name", "s3_bucket_region", "s3_endpoint", "bucket_path"} <= set(s3)
    assert s3["access_key_id"]["airbyte_secret"] is True and s3["secret_access_key"]["airbyte_secret"] is True
    assert "$ref" not in str(prop) and "anyOf" not in str(prop)


def test_the_sync_id_comes_from_the_configured_catalog() -> None:
    assert catalog_sync_id({"streams": [{"stream": {"name": "a"}, "sync_id": 1207}]}) == "1207"
    assert catalog_sync_id({"streams": [{"stream": {"name": "a"}}]}) is None


def test_boto3_is_imported_only_when_object_storage_is_configured() -> None:
    """About 0.4 s of start-up that every spec, check and write would pay otherwise."""
    import subprocess
    import sys

    code = ("import sys, destination_stripe.run, destination_stripe.core.sync, destination_stripe.adapters.check, "
            "destination_stripe.adapters.airbyte_write; print(sorted(m for m in ('boto3', 'botocore') "
            "if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
