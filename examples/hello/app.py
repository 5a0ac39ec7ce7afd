"""Hello: the example Spin HTTP app served by wxrun (spin-sdk 3.x, WASI 0.2).

Paths under /hello/: `echo` answers with the request body; `kv` opens Spin's
default key-value store, which this component may not use (its manifest grants
no store), and answers 403 with the error value Spin returns; `llm` asks Spin's
LLM interface for a model the manifest does not grant (`ai_models`), with the
same 403; `loop` and `alloc` exceed wxrun's time and memory limits; anything
else is greeted.
"""

import os

from spin_sdk import http, key_value, llm, variables
from spin_sdk.http import Request, Response
from spin_sdk.wit.types import Err


class IncomingHandler(http.IncomingHandler):
    """Answers every routed request; see the module docstring."""

    def handle_request(self, request: Request) -> Response:
        path = request.uri.split("?", 1)[0]
        release = os.environ.get("HELLO_RELEASE", "dev")
        if path.endswith("/echo"):
            body = request.body or b""
        elif path.endswith("/kv"):
            try:
                key_value.open_default().get("key")
                body = b"opened"
            except Err as e:
                return Response(403, {"content-type": "text/plain"}, bytes(repr(e.value), "utf-8"))
        elif path.endswith("/llm"):
            try:
                body = bytes(llm.infer("llama2-chat", "hi").text, "utf-8")
            except Err as e:
                return Response(403, {"content-type": "text/plain"}, bytes(repr(e.value), "utf-8"))
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
