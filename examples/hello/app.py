"""Hello: the example Spin HTTP app served by wxrun (spin-sdk 3.x, WASI 0.2).

Paths under /hello/: `echo` answers with the request body; `kv` calls Spin's
key-value store (which wxrun does not implement: the call traps); `loop` and
`alloc` exceed wxrun's time and memory limits; anything else is greeted.
"""

import os

from spin_sdk import http, key_value, variables
from spin_sdk.http import Request, Response


class IncomingHandler(http.IncomingHandler):
    """Answers every routed request; see the module docstring."""

    def handle_request(self, request: Request) -> Response:
        path = request.uri.split("?", 1)[0]
        release = os.environ.get("HELLO_RELEASE", "dev")
        if path.endswith("/echo"):
            body = request.body or b""
        elif path.endswith("/kv"):
            key_value.open_default().get("key")
            body = b"unreachable"
        elif path.endswith("/loop"):
            while True:
                pass
        elif path.endswith("/alloc"):
            body = bytes(len(bytearray(512 * 1024 * 1024)))
        else:
            greeting = variables.get("greeting")
            body = bytes(f"{greeting} from {request.uri} (release {release})\n", "utf-8")
        return Response(
            200,
            {"content-type": "text/plain", "x-hello-release": release},
            body,
        )
