"""Spin's http-py-p2 template: one handler class, WASI 0.2 (spin-sdk 3.x)."""

from spin_sdk.http import IncomingHandler, Request, Response


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Hello from Python!", "utf-8"),
        )
