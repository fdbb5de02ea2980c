"""HttpTransport against a real HTTP server on the loopback interface."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mobile_protocol.client import HttpTransport, TransportError


class Handler(BaseHTTPRequestHandler):
    """Answers by path: ``/echo`` describes the request, the others are canned answers."""

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def answer(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            self.reply(
                200,
                json.dumps(
                    {
                        "method": self.command,
                        "query": parse_qs(url.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(sent) if sent else None,
                    }
                ).encode(),
                gzipped="gzip" in self.headers.get("Accept-Encoding", ""),
            )
        elif url.path == "/busy":
            body = {"error": {"code": "busy", "message": "retry", "details": {"retry_after": 2}}}
            self.reply(503, json.dumps(body).encode(), headers={"Retry-After": "2"})
        elif url.path == "/proxy-error":
            self.reply(502, b"<html>Bad gateway</html>", content_type="text/html")
        elif url.path == "/garbled":
            self.reply(200, b"not gzip at all", headers={"Content-Encoding": "gzip"})
        else:
            self.reply(204, b"")

    def reply(self, status, body, *, gzipped=False, headers=None, content_type="application/json"):
        if gzipped:
            body = gzip.compress(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {
            **(headers or {}),
            **({"Content-Encoding": "gzip"} if gzipped else {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_answers_are_asked_for_in_gzip_and_come_back_decoded(server_url):
    response = HttpTransport(server_url).request("GET", "/echo")

    assert response.status == 200 and response.header("content-encoding") == "gzip"
    assert response.body["headers"]["accept-encoding"] == "gzip"


def test_query_parameters_headers_and_json_bodies_go_out_as_given(server_url):
    response = HttpTransport(server_url).request(
        "POST",
        "/echo",
        params={"cursor": "c 1", "limit": 2, "continuation": None},
        body={"protocol": 1, "note": "señal débil"},
        headers={"X-SFA-Protocol": "1"},
    )

    sent = response.body
    assert sent["method"] == "POST"
    assert sent["query"] == {"cursor": ["c 1"], "limit": ["2"]}
    assert sent["body"] == {"protocol": 1, "note": "señal débil"}
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["x-sfa-protocol"] == "1"


def test_an_error_status_is_an_answer_with_its_error_body_and_headers(server_url):
    response = HttpTransport(server_url).request("GET", "/busy")

    assert response.status == 503 and response.header("Retry-After") == "2"
    assert response.body["error"]["code"] == "busy"


def test_an_error_page_that_is_not_json_is_an_answer_without_a_body(server_url):
    response = HttpTransport(server_url).request("GET", "/proxy-error")
    assert (response.status, response.body) == (502, None)


def test_an_empty_answer_has_no_body(server_url):
    assert HttpTransport(server_url).request("GET", "/nothing").body is None


def test_a_garbled_answer_is_a_transport_error(server_url):
    with pytest.raises(TransportError, match="unreadable"):
        HttpTransport(server_url).request("GET", "/garbled")


def test_an_unreachable_server_is_a_transport_error():
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError):
        HttpTransport(f"http://127.0.0.1:{port}", timeout=2).request("GET", "/echo")
