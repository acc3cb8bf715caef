"""Stripe-shaped error answers.

Every failure is raised as :class:`ApiError` wherever it is detected and rendered once by the pipeline, so all
errors share Stripe's body ``{"error": {"type", "code", "message", "param", "doc_url", "request_log_url"}}``
(absent keys are omitted rather than nulled, as Stripe does) and the SDK maps them to the right exception class.
"""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"
IDEMPOTENCY_ERROR = "idempotency_error"
# Codes this server made up where Stripe documents none (see the package docstring): no doc_url for them.
INVENTED_CODES = frozenset({"parameter_invalid_string", "parameter_invalid_metadata"})


class ApiError(Exception):
    """An error answer. ``fast`` skips the simulated latency (Stripe answers 429s quickly)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        fast: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})
        self.fast = fast

    def body(self, request_id: str, livemode: bool = False) -> dict[str, Any]:
        """The JSON body, with the doc and log links Stripe adds."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.code and self.code not in INVENTED_CODES:
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        error["request_log_url"] = f"https://dashboard.stripe.com/{'' if livemode else 'test/'}logs/{request_id}"
        return {"error": error}


def v2_body(err: ApiError) -> dict[str, Any]:
    """API v2's error body (``{"error": {"type", "code", "message", "doc_url"}}``, absent keys omitted)."""
    error: dict[str, Any] = {"type": err.type}
    if err.code:
        error["code"] = err.code
    error["message"] = err.message
    if err.code and err.code not in INVENTED_CODES:
        error["doc_url"] = "https://docs.stripe.com/error-codes#" + err.code.replace("_", "-")
    return {"error": error}


def param_error(code: str, message: str, param: str | None) -> ApiError:
    """A 400 ``invalid_request_error`` about one parameter (validation failures are never stored)."""
    return ApiError(400, message, code=code, param=param)


def unknown_param(param: str) -> ApiError:
    return param_error("parameter_unknown", f"Received unknown parameter: {param}", param)


def missing_param(param: str) -> ApiError:
    return param_error("parameter_missing", f"Missing required param: {param}.", param)


def empty_param(param: str) -> ApiError:
    """Stripe's wording for ``""`` sent to something that cannot be unset."""
    return param_error(
        "parameter_invalid_empty",
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to unset a parameter; "
        f"however '{param}' cannot be unset. You should remove '{param}' from your request or supply a non-empty "
        "value.",
        param,
    )


def invalid_string(param: str, message: str) -> ApiError:
    """Wrong shape or a value outside the allowed set (code chosen by this server; see the package docstring)."""
    return param_error("parameter_invalid_string", message, param)


def no_such_customer(customer_id: str, param: str = "id", status: int = 404) -> ApiError:
    return ApiError(status, f"No such customer: '{customer_id}'", code="resource_missing", param=param)
