"""Run localstripe's server on 127.0.0.1 only, on a free port, with an empty store kept in memory only.

    python -m integration_tests.localstripe_loopback

prints `listening on http://127.0.0.1:PORT` on stdout once the socket is bound, then serves until SIGTERM, with
localstripe's access log on stderr. localstripe's app (`localstripe.server.app`) and resources are used as
published; only the start differs from its `localstripe` CLI, which binds every interface ([::]) on a fixed port
and loads and saves its whole store in /tmp/localstripe.pickle, one path shared by every localstripe on the machine
(here nothing is loaded and the save is switched off, so parallel runs and a developer's own localstripe never
see each other's customers).
"""

from __future__ import annotations

import logging
import socket
import sys


def main() -> None:
    from aiohttp import web
    from localstripe.resources import store
    from localstripe.server import app

    store.dump_to_disk = lambda: None  # instance attribute: the middleware and every store write call it
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    access_log = logging.getLogger("aiohttp.access")
    access_log.setLevel(logging.INFO)
    access_log.addHandler(logging.StreamHandler(sys.stderr))
    print(f"listening on http://{host}:{port}", flush=True)
    web.run_app(app, sock=sock, print=None, access_log=access_log, shutdown_timeout=1)


if __name__ == "__main__":
    main()
