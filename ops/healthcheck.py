"""Container healthcheck for a nameko service: its health RPC answers within the timeout.

python -m ops.healthcheck <service> [--timeout 5]
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m ops.healthcheck")
    ap.add_argument("service")
    ap.add_argument("--timeout", type=float, default=5)
    args = ap.parse_args()
    from nameko.standalone.rpc import ServiceRpcProxy

    try:
        with ServiceRpcProxy(args.service, {"AMQP_URI": os.environ["AMQP_URI"]}, timeout=args.timeout) as rpc:
            rpc.ping()
    except Exception as exc:  # any failure is "unhealthy"; say why for `docker inspect`
        print(f"{args.service} unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
