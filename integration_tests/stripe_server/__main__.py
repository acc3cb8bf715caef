"""CLI: serve the local Stripe-compatible server until SIGTERM or SIGINT.

    python -m integration_tests.stripe_server --host 127.0.0.1 --port 12111 \\
        [--latency-ms 150 --latency-jitter-ms 50] [--seed-customers N --mode test]

Prints exactly one line, ``listening on http://HOST:PORT`` (flushed), once it accepts connections, so scripts can
wait for it and learn the port chosen for ``--port 0``. Seeded customers are ``customer{i}@example.com`` /
``Customer {i}`` with ``metadata.ext_id = "{i}"`` for i = 1..N.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import StripeServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m integration_tests.stripe_server", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--search-lag-s", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="seed for latency jitter and probabilistic faults")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429 on its own")
    parser.add_argument(
        "--connect-rate-limits",
        choices=("per_account", "platform"),
        default="per_account",
        help="whose buckets a Stripe-Account request spends",
    )
    parser.add_argument("--seed-customers", type=int, default=0, metavar="N")
    parser.add_argument("--mode", choices=("test", "live"), default="test", help="store for --seed-customers")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = StripeServer(
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        seed=args.seed,
        search_lag_s=args.search_lag_s,
        enforce_rate_limits=not args.no_rate_limits,
        connect_rate_limits=args.connect_rate_limits,
    )
    with server:
        if args.seed_customers > 0:
            server.control.seed_customers(
                (
                    {"email": f"customer{i}@example.com", "name": f"Customer {i}", "metadata": {"ext_id": str(i)}}
                    for i in range(1, args.seed_customers + 1)
                ),
                mode=args.mode,
            )
        print(f"listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
