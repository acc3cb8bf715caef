"""The `check` command: prove the key can do what the config's streams need, changing nothing.

What is asked, per object the config names, is in check_probes.py. Every refusal is collected, so a restricted key
that lacks several permissions is told all of them at once, each with the object it concerns.
"""

from __future__ import annotations

from typing import Any

from destination_stripe.adapters.check_probes import Probe, Unfit, plan_probes
from destination_stripe.config import StripeConfig, load_config
from destination_stripe.core.rejects_s3 import open_reject_store
from destination_stripe.core.sync import build_gateway
from destination_stripe.errors import ConfigurationError, ConnectorError, RowRejected
from destination_stripe.output import Emitter

CHECK_RETRIES = 2
CHECK_TIMEOUT_S = 20.0


def run_check(raw_config: Any, emitter: Emitter) -> dict[str, Any]:
    """A CONNECTION_STATUS message: SUCCEEDED, or FAILED with what the user must fix. Never raises: `check` answers
    one status and exits 0 whatever happens (the protocol's way of reporting a failed check)."""
    config: StripeConfig | None = None
    probe: Probe | None = None
    try:
        config = load_config(raw_config)
        if config.unknown_options_warning:
            emitter.log("WARN", config.unknown_options_warning)
        emitter.log("INFO", f"Checking a {config.mode}-mode {config.key_kind} key against {config.base_url}.")
        gateway = build_gateway(config, emitter, max_retries=CHECK_RETRIES, timeout_s=CHECK_TIMEOUT_S)
        probes = plan_probes(config, gateway)
        refused: list[tuple[Probe, str]] = []
        for probe in probes:
            try:
                note = probe.run()
            except (ConnectorError, RowRejected) as error:
                # 401/403 (a ConfigurationError) are collected, so that every missing permission is named at once;
                # anything else fails the check, unless only some syncs need what was asked.
                if probe.required and not isinstance(error, ConfigurationError):
                    raise
                refused.append((probe, error.message if isinstance(error, ConnectorError) else str(error)))
                continue
            if note:
                emitter.log("INFO", f"Note: {note}.")
        failure = _refusals(probes, refused, emitter)
        if failure is not None:
            return _status("FAILED", failure)
        store = open_reject_store(config.object_storage_config, sync_id=None)  # the bucket exists and is reachable
        if store is not None:
            store.probe()  # and writable: a small object written and deleted
            emitter.log("INFO", f"Rejected rows can be written to {store.location}<sync id>/.")
    except Unfit as unfit:
        return _status("FAILED", str(unfit))
    except ConnectorError as error:
        return _status("FAILED", error.message)
    except RowRejected as refused_read:  # a list read itself was refused: writes need it to find objects
        assert config is not None
        request = f", request {refused_read.request_id}" if refused_read.request_id else ""
        if refused_read.code == "account_invalid":
            return _status("FAILED", f"stripe_account {config.stripe_account}: {refused_read.reason}{request}. Use "
                                     "the id of an account connected to this key's platform.")
        what = probe.call if probe is not None else "answer the first probe"
        return _status("FAILED", f"Stripe refused to {what} ({refused_read.code}: {refused_read.reason}{request}). "
                                 "Check api_base and the key's permissions.")
    except Exception as error:  # a bug or an answer nobody expected: still one status, with what happened
        return _status("FAILED", f"The check could not complete: {type(error).__name__}: {error}")
    mode_note = "LIVE mode: writes change real objects" if config.mode == "live" else "test mode (sandbox data)"
    where = f" in connected account {config.stripe_account}" if config.stripe_account else ""
    done = ", ".join(p.label for p in probes if p.required)
    emitter.log("INFO", f"The key can {done}{where}; {mode_note}.")
    return _status("SUCCEEDED", f"Connected to Stripe in {config.mode} mode.")


def _refusals(probes: list[Probe], refused: list[tuple[Probe, str]], emitter: Emitter) -> str | None:
    """The failure message for the required probes Stripe refused (None: none was); the optional ones are warned
    about. When Stripe refused everything, its first answer says why (a key that is not valid, say)."""
    required = [(p, message) for p, message in refused if p.required]
    for probe, message in refused:
        if not probe.required:
            emitter.log("WARN", f"The key cannot {probe.label} ({probe.why}): only some syncs need it, but those "
                                f"will fail. Stripe said: {message}")
    if not required:
        return None
    if len(refused) == len(probes):
        return required[0][1]
    lacking = ", ".join(f"{p.label} ({p.why})" for p, _ in required)
    return f"The key lacks permission to: {lacking}. Stripe said: {required[0][1]}"


def _status(status: str, message: str) -> dict[str, Any]:
    return {"type": "CONNECTION_STATUS", "connectionStatus": {"status": status, "message": message}}
