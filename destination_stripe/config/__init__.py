"""The connector's configuration: the options (`model.py`, which is also the Airbyte spec), per-stream settings
(`streams.py`), meter events (`meter.py`), rejected rows in object storage (`object_storage.py`), the limits every
part of the connector runs under (`limits.py`), the key's shape (`key.py`), URLs (`urls.py`), unknown options
(`unknown.py`) and loading a raw dict (`load.py`). Callers import from here."""

from destination_stripe.config.load import describe_validation_error, load_config
from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.config.model import DEFAULT_API_BASE, DOCUMENTATION_URL, StripeConfig
from destination_stripe.config.streams import EffectiveStream, StreamSettings

__all__ = ["DEFAULT_API_BASE", "DOCUMENTATION_URL", "EffectiveStream", "MeterEventOptions", "StreamSettings",
           "StripeConfig", "describe_validation_error", "load_config"]
