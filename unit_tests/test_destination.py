"""The CDK `Destination` face of the connector answers spec and check in the CDK's own models."""

from __future__ import annotations

import logging

from airbyte_cdk.models import Status

from destination_stripe.cdk_destination import DestinationStripe


def test_spec_is_a_cdk_connector_specification_with_the_secret_key():
    spec = DestinationStripe().spec(logging.getLogger("test"))
    assert spec.connectionSpecification["properties"]["api_key"]["airbyte_secret"] is True
    assert "soft_delete" in [str(getattr(m, "value", m)) for m in spec.supported_destination_sync_modes]


def test_check_refuses_a_publishable_key_without_calling_stripe():
    status = DestinationStripe().check(logging.getLogger("test"), {"api_key": "pk_test_" + "q" * 24})
    assert status.status == Status.FAILED
    assert "publishable" in status.message
