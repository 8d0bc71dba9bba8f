"""An --endpoint-url whose server takes the connection and then says nothing, or answers with a web page."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time

import pytest

from mysfits_cli import aws
from mysfits_cli.aws import Aws
from mysfits_cli.config import Settings
from mysfits_cli.errors import MysfitsError


@contextlib.contextmanager
def silent_server():
    """Accepts every connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


@contextlib.contextmanager
def web_server(status: int):
    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_never_answers_is_waited_for_a_bounded_time_and_said(monkeypatch, capsys):
    monkeypatch.setattr(aws, "FIRST_ANSWER_TIMEOUT", 0.4)
    monkeypatch.setattr(aws, "FIRST_ANSWER_NOTICE", 0.2)
    with silent_server() as (url, accepted):
        started = time.monotonic()
        with pytest.raises(MysfitsError, match=rf"^{url} took the connection but did not answer in 1 s: check "
                                               r"--endpoint-url"):
            Aws(Settings(region="us-east-1", endpoint_url=url)).account_id
        assert time.monotonic() - started < 5  # the three attempts' reads, and botocore's short back-off
        assert len(accepted) >= aws.FIRST_ANSWER_ATTEMPTS  # each attempt was a connection taken and not answered
    assert f"Waiting for {url} to answer: it took the connection, but has not said anything yet" in capsys.readouterr().err


@pytest.mark.parametrize("status", [200, 404])
def test_a_web_page_is_not_an_aws_answer(status):
    with web_server(status) as url:
        with pytest.raises(MysfitsError, match=rf'^{url} answered GetCallerIdentity with a web page \("Welcome to '
                                               r'nginx!"\): it is not an AWS endpoint; check --endpoint-url$'):
            Aws(Settings(region="us-east-1", endpoint_url=url)).account_id
