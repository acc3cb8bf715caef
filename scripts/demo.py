"""The README's first command: write sample rows with the CLI into the local Stripe-compatible server.

Starts the project's server on a free loopback port with three existing customers, runs
`python -m destination_stripe write` on examples/messages.jsonl twice (the second run shows that a
repeated sync changes nothing), and prints what happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from integration_tests.stripe_server import StripeServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_KEY = "sk_test_" + "LocalDemoKeyNotARealStripeKey"
EXISTING = [
    {"email": "ada@example.com", "name": "Ada King", "metadata": {"plan": "pro"}},
    {"email": "grace@example.com", "name": "Grace Hopper"},
    {"email": "alan@example.com", "name": "Alan Turing", "metadata": {"plan": "pro", "warehouse_id": "3"},
     "address": {"line1": "Bletchley Park", "city": "Milton Keynes", "country": "GB"}},
]


def run_sync(config_path: Path, label: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "destination_stripe", "write", "--config", str(config_path),
         "--catalog", str(EXAMPLES / "catalog.json")],
        input=(EXAMPLES / "messages.jsonl").read_bytes(), capture_output=True, check=False,
    )
    messages = [json.loads(line) for line in completed.stdout.decode().splitlines() if line.strip()]
    summary = {}
    print(f"\n=== {label}: exit code {completed.returncode} ===")
    for message in messages:
        if message["type"] == "STATE":
            stats = message["state"]["destinationStats"]
            print(f"  STATE id={message['id']} echoed: {stats['recordCount']:.0f} written, "
                  f"{stats['rejectedRecordCount']:.0f} rejected")
        elif message["type"] == "LOG" and message["log"]["level"] in ("WARN", "ERROR"):
            print(f"  {message['log']['level']}: {message['log']['message']}")
        elif message["type"] == "LOG" and "SUMMARY_JSON " in message["log"]["message"]:
            summary = json.loads(message["log"]["message"].split("SUMMARY_JSON ", 1)[1])
        elif message["type"] == "TRACE":
            print(f"  ERROR: {message['trace']['error']['message']}")
    keys = ("created", "updated", "unchanged", "skipped", "deleted", "rejected", "api_calls", "reads", "writes",
            "retries")
    print("  summary: " + ", ".join(f"{k} {summary.get(k)}" for k in keys))
    return summary


def main() -> int:
    with StripeServer(host="127.0.0.1", port=0, latency_ms=20, latency_jitter_ms=10) as server, \
            tempfile.TemporaryDirectory() as tmp:
        server.control.seed_customers(EXISTING, mode="test")
        config = json.loads((EXAMPLES / "config.example.json").read_text())
        config.update(api_key=DEMO_KEY, api_base=server.url, rejected_records_path=str(Path(tmp) / "rejected.jsonl"))
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        print(f"Local Stripe-compatible server at {server.url} with {len(EXISTING)} existing customers.")
        first = run_sync(config_path, "First sync of examples/messages.jsonl")
        second = run_sync(config_path, "Same rows again")
        print("\nCustomers now in the local Stripe:")
        for customer in server.control.customers(mode="test"):
            meta = ", ".join(f"{k}={v}" for k, v in sorted(customer["metadata"].items()))
            print(f"  {customer['id']}  {customer['email']:<24} {customer['name'] or '':<20} {meta}")
        rejects = Path(config["rejected_records_path"])
        if rejects.exists():
            print("\nRejected rows (rejected_records_path):")
            for line in rejects.read_text().splitlines()[:5]:
                entry = json.loads(line)
                print(f"  row {entry['row_number']}: {entry['code']}: {entry['reason']}")
        ok = first.get("created", 0) > 0 and second.get("writes", 1) == 0
        print("\nDemo " + ("OK: the repeated sync made no writes." if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
