"""Operators' command for parked messages (events a consumer kept failing on).

    python -m ops.parked list    <component>
    python -m ops.parked inspect <component> --id ID
    python -m ops.parked replay  <component> [--id ID]

Replay publishes the stored envelope straight to the consumer's own queue
(default exchange, routing key = queue name), so only that consumer sees it
again; it is idempotent by event_id, so replaying twice is harmless.
"""

from __future__ import annotations

import argparse
import json
import sys

import pika

from services.common.config import load_config
from services.common.events import PARKED, utcnow
from services.common.mongo import make_client


def amqp_params(uri: str) -> pika.URLParameters:
    return pika.URLParameters(uri.replace("pyamqp://", "amqp://", 1))


def replay(db, amqp_uri: str, parked_id: str | None = None) -> int:
    filt = {"replayed": False}
    if parked_id:
        filt["_id"] = parked_id
    conn = pika.BlockingConnection(amqp_params(amqp_uri))
    try:
        channel = conn.channel()
        count = 0
        for doc in db[PARKED].find(filt):
            channel.basic_publish(
                "",
                doc["queue"],
                json.dumps(doc["envelope"]).encode(),
                pika.BasicProperties(content_type="application/json", content_encoding="utf-8", delivery_mode=2),
            )
            db[PARKED].update_one({"_id": doc["_id"]}, {"$set": {"replayed": True, "replayed_at": utcnow()}})
            count += 1
        return count
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.parked")
    parser.add_argument("action", choices=["list", "inspect", "replay"])
    parser.add_argument("component")
    parser.add_argument("--id")
    args = parser.parse_args()
    config = load_config(args.component)
    client = make_client(config["MONGO_URI"])
    db = client[config["MONGO_DB"]]
    try:
        if args.action == "list":
            for doc in db[PARKED].find({"replayed": False}).sort("parked_at", 1):
                print(
                    f"{doc['_id']}  {doc['parked_at']:%Y-%m-%d %H:%M:%S}  {doc['queue']}  "
                    f"{doc['error'].strip().splitlines()[-1][:120]}"
                )
        elif args.action == "inspect":
            doc = db[PARKED].find_one({"_id": args.id}) if args.id else None
            if doc is None:
                print(f"no parked message {args.id!r} (see: list)", file=sys.stderr)
                return 2
            print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        else:
            print(f"replayed {replay(db, config['AMQP_URI'], args.id)} message(s)")
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
