"""The `check` command: prove the key can read and write Customers, changing nothing."""

from __future__ import annotations

from typing import Any

from destination_stripe.config import load_config
from destination_stripe.core.rejects_s3 import open_reject_store
from destination_stripe.core.sync import build_gateway
from destination_stripe.errors import ConnectorError, RowRejected
from destination_stripe.objects import CUSTOMER, object_named
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.object_api import ObjectApi

CHECK_RETRIES = 2
CHECK_TIMEOUT_S = 20.0


def run_check(raw_config: Any, emitter: Emitter) -> dict[str, Any]:
    """A CONNECTION_STATUS message: SUCCEEDED, or FAILED with what the user must fix. Never raises: `check` answers
    one status and exits 0 whatever happens (the protocol's way of reporting a failed check)."""
    try:
        config = load_config(raw_config)
        if config.unknown_options_warning:
            emitter.log("WARN", config.unknown_options_warning)
        emitter.log("INFO", f"Checking a {config.mode}-mode {config.key_kind} key against {config.base_url}.")
        gateway = build_gateway(config, emitter, max_retries=CHECK_RETRIES, timeout_s=CHECK_TIMEOUT_S)
        obj = object_named(config.object) or CUSTOMER
        note = ObjectApi(gateway, obj, config.stripe_account).check_key_can_write()
        store = open_reject_store(config.object_storage_config, sync_id=None)  # the bucket exists and is reachable
        if store is not None:
            store.probe()  # and writable: a small object written and deleted
            emitter.log("INFO", f"Rejected rows can be written to {store.location}<sync id>/.")
    except ConnectorError as error:
        return _status("FAILED", error.message)
    except RowRejected as refused:  # the list read itself was refused: writes need it to find objects
        request = f", request {refused.request_id}" if refused.request_id else ""
        if refused.code == "account_invalid":
            return _status("FAILED", f"stripe_account {config.stripe_account}: {refused.reason}{request}. Use the id "
                                     "of an account connected to this key's platform.")
        return _status("FAILED", f"Stripe refused to list {obj.service} ({refused.code}: {refused.reason}{request}). "
                                 "Check api_base and the key's permissions.")
    except Exception as error:  # a bug or an answer nobody expected: still one status, with what happened
        return _status("FAILED", f"The check could not complete: {type(error).__name__}: {error}")
    if note:
        emitter.log("INFO", f"Note: {note}.")
    mode_note = "LIVE mode: writes change real customers" if config.mode == "live" else "test mode (sandbox data)"
    where = f" in connected account {config.stripe_account}" if config.stripe_account else ""
    emitter.log("INFO", f"The key can read and write {obj.title}s{where}; {mode_note}.")
    return _status("SUCCEEDED", f"Connected to Stripe in {config.mode} mode.")


def _status(status: str, message: str) -> dict[str, Any]:
    return {"type": "CONNECTION_STATUS", "connectionStatus": {"status": status, "message": message}}
