"""The platforms' sync modes and the operation each means here: one table, read by discover and by write.

Airbyte (airbyte.md): `append_dedup` upserts, `update` updates, `soft_delete` deletes. `append` means an insert in
data activation, which is what discover advertises for it; in a classic sync, whose catalog names no destination
object, `append` takes the stream's `default_operation` (upsert unless set). `overwrite` is refused: it would mean
deleting every Stripe object the sync does not send. valmi: `mirror` sends deletes as rows with `_valmi_sync_op`
"delete"; its other rows are upserts.
"""

from __future__ import annotations

from destination_stripe.objects.params import Operation

# (mode, operation) in the order discover lists them.
AIRBYTE_MODES: tuple[tuple[str, Operation], ...] = (
    ("append", "create"),
    ("append_dedup", "upsert"),
    ("update", "update"),
    ("soft_delete", "delete"),
)
REFUSED_AIRBYTE_MODES = {
    "overwrite": "overwrite would mean deleting every Stripe object this sync does not send, which this destination "
                 "never does. Pick append (the config's default_operation, upsert unless set) or append_dedup "
                 "(upsert); with PyAirbyte, write_strategy='append' or 'merge'.",
}
VALMI_MODES: tuple[tuple[str, Operation], ...] = (("upsert", "upsert"), ("update", "update"), ("mirror", "upsert"))


def airbyte_operation(mode: str, *, activation: bool) -> Operation | None:
    """What a stream in `mode` does: None for a classic `append` (the stream's default_operation decides).
    KeyError for a mode this destination does not take (see `REFUSED_AIRBYTE_MODES`)."""
    operation = dict(AIRBYTE_MODES)[mode]
    return None if mode == "append" and not activation else operation
