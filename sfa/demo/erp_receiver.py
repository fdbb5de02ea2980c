"""A stand-in ERP for the demo: takes the order webhooks and, a little later, answers each order
the way a warehouse would (accepted, sometimes a line backordered, then shipped and invoiced),
through the real signed ``POST /api/v1/erp/acks``.

Run by ``sfa demo`` as its own process::

    python -m sfa.demo.erp_receiver --port 8001 --server http://127.0.0.1:8000 \\
        --email erp@demo... --password ...   (secret in SFA_ERP_WEBHOOK_SECRET)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sfa.erp.adapters.webhook import check_signature, signature

STEPS = (  # (seconds after the order arrived, what the warehouse says)
    (2.0, "order.accepted"),
    (15.0, "order.shipped"),
    (30.0, "order.invoiced"),
)


class DemoErp:
    def __init__(self, server: str, email: str, password: str, secret: str, seed: int = 1) -> None:
        self.server, self.email, self.password, self.secret = server, email, password, secret
        self.rng = random.Random(seed)
        self.todo: queue.PriorityQueue = queue.PriorityQueue()
        self.token: str | None = None
        self.booked: set[str] = set()
        self.lock = threading.Lock()

    # the webhook --------------------------------------------------------------------------

    def take(self, headers, raw: bytes) -> int:  # noqa: ANN001
        problem = check_signature(
            self.secret, headers.get("X-SFA-Signature", ""), raw, time.time(), 300
        )
        if problem:
            return 401
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            if key in self.booked:  # a resend: booked once
                return 200
            self.booked.add(key)
        event = json.loads(raw)
        if event["type"] == "order.submitted":
            now = time.time()
            for delay, kind in STEPS:
                self.todo.put((now + delay, kind, event["order"]["id"], json.dumps(event)))
        return 200

    # the answers --------------------------------------------------------------------------

    def answer_forever(self) -> None:
        while True:
            due, kind, order_id, raw = self.todo.get()
            time.sleep(max(0.0, due - time.time()))
            try:
                self._answer(kind, json.loads(raw))
            except Exception as exc:  # the server restarting: try again shortly
                print(f"demo ERP: {kind} for {order_id} failed ({exc}); retrying", file=sys.stderr)
                self.todo.put((time.time() + 5, kind, order_id, raw))

    def _answer(self, kind: str, event: dict) -> None:
        order = event["order"]
        lines = []
        for line in order["lines"]:
            if kind == "order.accepted":
                short = self.rng.random() < 0.1
                lines.append(
                    {
                        "line_id": line["id"],
                        "status": "backordered" if short else "accepted",
                        "confirmed_quantity": 0 if short else line["quantity"],
                        "backordered_quantity": line["quantity"] if short else 0,
                    }
                )
            elif kind == "order.shipped":
                lines.append({"line_id": line["id"], "shipped_quantity": line["quantity"]})
            else:
                lines.append({"line_id": line["id"], "invoiced_quantity": line["quantity"]})
        number = f"SO-{order['id'][:8].upper()}"
        body = {
            "delivery_id": f"demo-{kind}-{order['id']}",
            "type": kind,
            "order_id": order["id"],
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "erp_reference": number,
            "reason": None,
            "lines": lines,
            "shipment_id": f"SH-{number}" if kind == "order.shipped" else None,
            "invoice_id": f"FV-{number}" if kind == "order.invoiced" else None,
        }
        status, reply = self._post("/api/v1/erp/acks", body, signed=True)
        if status == 401:
            self.token = None
            status, reply = self._post("/api/v1/erp/acks", body, signed=True)
        if status >= 500:
            raise RuntimeError(f"HTTP {status}")
        if status >= 400:  # e.g. the order was cancelled meanwhile: nothing to retry
            print(f"demo ERP: {kind} for {order['id']}: {reply}", file=sys.stderr)

    def _post(self, path: str, body: dict, *, signed: bool) -> tuple[int, dict]:
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["Authorization"] = f"Bearer {self._token()}"
            headers["X-SFA-Signature"] = signature(self.secret, raw, int(time.time()))
        parts = urlsplit(self.server)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("POST", path, body=raw, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data or b"{}")
        finally:
            connection.close()

    def _token(self) -> str:
        if self.token is None:
            status, reply = self._post(
                "/api/v1/auth/login",
                {
                    "email": self.email,
                    "password": self.password,
                    "device_id": f"demo-erp-{uuid.uuid4().hex[:8]}",
                    "device_name": "Demo ERP connector",
                    "platform": "server",
                },
                signed=False,
            )
            if status != 200:
                raise RuntimeError(f"the demo ERP cannot sign in: {reply}")
            self.token = reply["access_token"]
        return self.token


def serve(port: int, erp: DemoErp) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # noqa: ANN002
            pass

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(erp.take(self.headers, raw))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    secret = os.environ.get("SFA_ERP_WEBHOOK_SECRET", "")
    if not secret:
        parser.error("SFA_ERP_WEBHOOK_SECRET is not set")
    erp = DemoErp(args.server, args.email, args.password, secret)
    threading.Thread(target=erp.answer_forever, daemon=True).start()
    server = serve(args.port, erp)
    print(f"demo ERP receiving order webhooks on http://127.0.0.1:{args.port}/orders")
    server.serve_forever()


if __name__ == "__main__":
    main()
