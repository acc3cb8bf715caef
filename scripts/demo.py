"""The README's first command: write sample rows with the CLI into the local Stripe-compatible server.

Starts the project's server on a free loopback port with three existing customers, runs
`python -m destination_stripe write` on examples/messages.jsonl twice (the second run shows that a
repeated sync changes nothing), then does the same with a small catalog (examples/catalog/: products
matched on a metadata SKU, prices that name their product by that SKU, a coupon and its promotion
codes, four streams in one sync), and prints what happened.
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


def run_sync(config_path: Path, label: str, examples: Path = EXAMPLES) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "destination_stripe", "write", "--config", str(config_path),
         "--catalog", str(examples / "catalog.json")],
        input=(examples / "messages.jsonl").read_bytes(), capture_output=True, check=False,
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
    for name, counts in summary.get("by_object", {}).items():
        print(f"    {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return summary


def write_config(example: Path, tmp: Path, url: str, name: str) -> Path:
    config = json.loads(example.read_text())
    config.update(api_key=DEMO_KEY, api_base=url, rejected_records_path=str(tmp / f"{name}-rejected.jsonl"))
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def catalog_demo(server: StripeServer, tmp: Path) -> bool:
    config_path = write_config(EXAMPLES / "catalog" / "config.example.json", tmp, server.url, "catalog")
    first = run_sync(config_path, "Catalog: products, prices, a coupon and its promotion codes", EXAMPLES / "catalog")
    second = run_sync(config_path, "The same catalog again", EXAMPLES / "catalog")
    control = server.control
    products = {p["id"]: p for p in control.products(mode="test")}
    print("\nThe catalog now in the local Stripe:")
    for product in products.values():
        print(f"  product {product['id']}  {product['name']:<18} sku={product['metadata'].get('sku')}")
    for price in control.prices(mode="test"):
        every = (price.get("recurring") or {}).get("interval")
        amount = f"{price['unit_amount'] / 100:.2f} {price['currency'].upper()}" + (f"/{every}" if every else "")
        print(f"  price   {price['lookup_key']:<18} {amount:<16} product={products[price['product']]['name']}")
    for coupon in control.coupons(mode="test"):
        print(f"  coupon  {coupon['id']:<18} {coupon['percent_off']:g}% off, {coupon['duration']}")
    for code in control.promotion_codes(mode="test"):
        coupon = code["promotion"]["coupon"]
        print(f"  code    {code['code']:<18} -> coupon {coupon}, active={code['active']}")
    return first.get("created", 0) == 8 and first.get("rejected", 1) == 0 and second.get("writes", 1) == 0


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
        catalog_ok = catalog_demo(server, Path(tmp))
        ok = first.get("created", 0) > 0 and second.get("writes", 1) == 0 and catalog_ok
        print("\nDemo " + ("OK: the repeated syncs made no writes." if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
