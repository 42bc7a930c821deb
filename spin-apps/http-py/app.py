"""Spin's http-py template: an async handler class, WASI 0.3 (spin-sdk 4.x)."""

from spin_sdk.http import Handler, Request, Response


class HttpHandler(Handler):
    async def handle_request(self, request: Request) -> Response:
        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Hello from Python!", "utf-8"),
        )
