"""Rewrite integration_tests/spec.json, the full expected spec that the acceptance tests compare the image's with.

Airbyte's acceptance tests (`spec_path` in acceptance-test-config.yml) want the whole spec, equal to what `spec`
prints. It is generated from the config model, never edited by hand: after changing an option, run
`.venv/bin/python -m scripts.expected_spec` and review the diff (it is what Airbyte's UI will show).
`--check` exits 1, naming the file, when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from destination_stripe.adapters.spec import spec_message

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_SPEC = ROOT / "integration_tests" / "spec.json"


def render() -> str:
    return json.dumps(spec_message()["spec"], indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if EXPECTED_SPEC.read_text() != text:
            print(f"{EXPECTED_SPEC.relative_to(ROOT)} is stale: run python -m scripts.expected_spec", file=sys.stderr)
            return 1
        return 0
    EXPECTED_SPEC.write_text(text)
    print(f"wrote {EXPECTED_SPEC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
