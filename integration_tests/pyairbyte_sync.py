"""A PyAirbyte sync from a source to destination-stripe, run by `.venv-pyairbyte`'s interpreter, not `.venv`'s.

    .venv-pyairbyte/bin/python integration_tests/pyairbyte_sync.py WORKDIR

WORKDIR holds `config.json`, the destination's config (the only file with the API key), and `job.json`:
`{"source_name", "source_executable", "source_config", "streams", "destination_executable"}`. The script

1. reads the streams' records with `Source.get_records` (the test's expected values come from the source itself),
2. writes the source to the destination with `Destination.write(source, cache=False, state_cache=False)`: records
   stream straight from the source's process to the destination's, with no DuckDB cache and no state store,
3. reads the records again, so the test can prove the source is deterministic (the rows read are the rows written);
or, with `"via_cache": true`, reads every stream once into PyAirbyte's default (DuckDB) cache and writes from it,
keeping the cached rows as the rows written,

and saves `result.json`: `{"rows": {stream: [...]}, "rows_again": {stream: [...]}, "raised": null | {"type",
"mro", "text", "log_file", "logged_errors"}}`. `logged_errors` are the ERROR lines of the destination's log file,
where PyAirbyte writes the message of the connector's TRACE error (the exception's own text only says "Connector
failed").

PyAirbyte's internal columns (`_airbyte_raw_id`, ...) are dropped from the rows: the source never sends them.
Standard library and PyAirbyte only; nothing in .venv imports this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def source_rows(source: Any, stream: str) -> list[dict[str, Any]]:
    # Keep the dataset referenced while iterating: PyAirbyte 0.71 stops the source's process (and the iteration
    # ends empty, "Canceled `source-faker` sync") as soon as the LazyDataset object itself is garbage collected.
    dataset = source.get_records(stream)
    rows = [{key: value for key, value in dict(record).items() if not key.startswith("_airbyte_")}
            for record in dataset]
    del dataset
    return rows


def describe(error: BaseException) -> dict[str, Any]:
    log_file = getattr(error, "log_file", None)
    original = getattr(error, "original_exception", None)
    if log_file is None and original is not None:
        log_file = getattr(original, "log_file", None)
    logged_errors: list[str] = []
    if log_file is not None and Path(log_file).is_file():
        logged_errors = [line.split(" - ERROR - ", 1)[1] for line in Path(log_file).read_text().splitlines()
                         if " - ERROR - " in line]
    return {
        "type": type(error).__name__,
        "mro": [cls.__name__ for cls in type(error).__mro__],
        "text": str(error),
        "log_file": str(log_file) if log_file is not None else None,
        "logged_errors": logged_errors,
    }


def main(workdir: Path) -> None:
    import airbyte  # PyAirbyte: importable only in .venv-pyairbyte

    job = json.loads((workdir / "job.json").read_text())
    destination_config = json.loads((workdir / "config.json").read_text())
    streams = job["streams"]
    source = airbyte.get_source(job["source_name"], config=job["source_config"],
                                local_executable=job["source_executable"], streams=streams)
    destination = airbyte.get_destination("destination-stripe", config=destination_config,
                                          local_executable=job["destination_executable"])
    if job.get("via_cache"):
        # A source whose streams depend on each other's generation (faker's purchases, read in one process with its
        # users, differ from a purchases-only read): read once into PyAirbyte's local cache, keep what it holds, and
        # write from it, so the rows the test expects are exactly the rows the destination received.
        read = source.read(cache=airbyte.get_default_cache())
        rows = {name: [{k: v for k, v in dict(r).items() if not k.startswith("_airbyte_")} for r in read[name]]
                for name in streams}
        result: dict[str, Any] = {"rows": rows, "rows_again": rows, "raised": None}
        try:
            destination.write(read, streams=streams)
        except Exception as error:  # what PyAirbyte raises is the test's subject, whatever its class
            result["raised"] = describe(error)
        (workdir / "result.json").write_text(json.dumps(result, default=str))
        return
    result = {"rows": {name: source_rows(source, name) for name in streams}, "raised": None}
    try:
        destination.write(source, streams=streams, cache=False, state_cache=False)
    except Exception as error:  # what PyAirbyte raises is the test's subject, whatever its class
        result["raised"] = describe(error)
    result["rows_again"] = {name: source_rows(source, name) for name in streams}
    (workdir / "result.json").write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
