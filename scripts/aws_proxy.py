"""An HTTP proxy in front of the AWS emulator that makes it behave like a distant, busy AWS:
a fixed latency on every call (benches/apply-latency.sh) and injected faults (the one-run
fault test). Faults come in each service's own error wire format, so the SDK classifies them
as it would AWS's:

- throttling: the request is refused before it reaches the emulator;
- server error: a 5xx, also before the emulator;
- lost response: the emulator carries the call out, and the client sees a 503 instead of its
  answer, as when a response is lost between AWS and the client. A retried create then meets
  what its first attempt made.

Usage: python aws_proxy.py --port P --upstream U [--latency-ms MS]
           [--throttle R] [--server-error R] [--lost R] [--seed N] [--lose-first REGEX]
Rates are fractions of requests. With any fault rate set, the first requests of each
protocol get one fault of each kind, so every wire format below is exercised in every run.
--lose-first loses the answer of the first request of each operation whose name matches
REGEX in full: the query protocol's Action, the JSON protocols' X-Amz-Target operation, or
"METHOD /path" for REST APIs (e.g. "POST /2015-03-31/functions").
GET /__proxy/faults answers the faults injected so far, by protocol and kind, and the
operations whose first answer was lost, as JSON. GET /__proxy/arrivals answers the wall-clock
times (Unix seconds) at which the calls so far arrived, as a JSON list: the bench reads from
it how long a command ran before its first API call.
"""

import argparse
import http.client
import json
import random
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS_PATH = "/__proxy/faults"
ARRIVALS_PATH = "/__proxy/arrivals"
KINDS = ("throttle", "server_error", "lost")

# The signing service in the SigV4 credential scope names the API the request is for.
SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")

# Services on the query protocol that answer in <ErrorResponse> (EC2 has its own <Response>).
QUERY = {"iam", "sts", "elasticloadbalancing", "sns", "sqs", "autoscaling", "cloudformation"}


def protocol(service, headers):
    """The wire protocol of a request: how its errors must look."""
    if headers.get("X-Amz-Target"):
        return "json"
    if service == "ec2":
        return "ec2"
    if service in QUERY:
        return "query"
    if service == "s3":
        return "rest-xml"
    if service == "route53":
        return "route53"
    return "rest-json"


# (status, code, message) per protocol and fault kind, as each service family answers them.
# Sources: EC2 error codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
# the query protocol's ErrorResponse (IAM, ELB), JSON protocols' __type (ECS, ECR, Logs),
# REST-JSON's x-amzn-ErrorType (Lambda: TooManyRequestsException 429, ServiceException 500;
# EFS: ThrottlingException 429, InternalServerError 500), S3's SlowDown 503 / InternalError 500.
FAULTS = {
    "ec2": {
        "throttle": (503, "RequestLimitExceeded", "Request limit exceeded."),
        "server_error": (500, "InternalError", "An internal error has occurred."),
        "lost": (503, "Unavailable", "The server is overloaded and can't handle the request."),
    },
    "query": {
        "throttle": (400, "Throttling", "Rate exceeded"),
        "server_error": (500, "InternalFailure", "An internal error occurred."),
        "lost": (503, "ServiceUnavailable", "Service is unavailable."),
    },
    "json": {
        "throttle": (400, "ThrottlingException", "Rate exceeded"),
        "server_error": (500, "InternalFailure", "An internal error occurred."),
        "lost": (503, "ServiceUnavailableException", "Service is unavailable."),
    },
    "rest-json": {
        "throttle": (429, "TooManyRequestsException", "Rate exceeded"),
        "server_error": (500, "ServiceException", "An internal error occurred."),
        "lost": (503, "ServiceUnavailableException", "Service is unavailable."),
    },
    # Route 53 is REST with XML bodies, its errors in the query protocol's ErrorResponse
    # (Throttling and PriorRequestNotComplete are its throttling answers).
    "route53": {
        "throttle": (400, "Throttling", "Rate exceeded"),
        "server_error": (500, "InternalFailure", "An internal error occurred."),
        "lost": (503, "ServiceUnavailable", "Service is unavailable."),
    },
    "rest-xml": {
        "throttle": (503, "SlowDown", "Please reduce your request rate."),
        "server_error": (500, "InternalError", "We encountered an internal error. Please try again."),
        "lost": (503, "ServiceUnavailable", "Service is unable to handle request."),
    },
}


def error_response(proto, kind, headers):
    """(status, headers, body) of a fault in `proto`'s wire format."""
    status, code, message = FAULTS[proto][kind]
    request_id = str(uuid.uuid4())
    if proto == "ec2":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return status, {"Content-Type": "text/xml"}, body
    if proto in ("query", "route53"):
        side = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
    if proto == "json":
        content_type = headers.get("Content-Type") or "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message})
        return status, {"Content-Type": content_type, "x-amzn-RequestId": request_id}, body
    if proto == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body
    body = json.dumps({"message": message})
    return (
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id},
        body,
    )


def operation(proto, method, path, headers, body):
    """The operation a request calls, as --lose-first matches it."""
    if proto == "json":
        return headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
    if proto in ("ec2", "query"):
        match = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
        return match.group(1).decode() if match else ""
    return f"{method} {path.split('?')[0]}"


class Faults:
    """Which fault, if any, a request gets; and a count of those given."""

    def __init__(self, rates, seed, lose_first):
        self.rates = rates
        self.random = random.Random(seed)
        self.lose_first = re.compile(lose_first) if lose_first else None
        self.lost_once = set()
        self.lock = threading.Lock()
        self.given = {}

    def draw(self, proto, op):
        with self.lock:
            given = self.given.setdefault(proto, dict.fromkeys(KINDS, 0))
            if self.lose_first and op not in self.lost_once and self.lose_first.fullmatch(op):
                self.lost_once.add(op)
                given["lost"] += 1
                return "lost"
            if not any(self.rates.values()):
                return None
            kind = next((k for k in KINDS if self.rates[k] and not given[k]), None)
            if kind is None:
                r = self.random.random()
                for k in KINDS:
                    if r < self.rates[k]:
                        kind = k
                        break
                    r -= self.rates[k]
            if kind:
                given[kind] += 1
            return kind

    def report(self):
        with self.lock:
            return json.dumps(dict(self.given, lost_first=sorted(self.lost_once)))


def read_body(rfile, headers):
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline()
    return rfile.read(int(headers.get("Content-Length") or 0))


def serve(port, upstream, latency, faults):
    arrivals, arrivals_lock = [], threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body of an answer are two writes. With Nagle's algorithm the
        # body waits for the client's ACK of the headers, which a kept-alive connection
        # delays by 40 ms: every call but a connection's first took 44 ms at --latency-ms 0
        # (2 ms straight to the emulator), on top of the latency asked for.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def reply(self, status, headers, body, length=None):
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            # A HEAD answer's length is that of what a GET would return (S3 HeadObject).
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def forward(self):
            arrived = time.time()
            body = read_body(self.rfile, self.headers)
            if self.command == "GET" and self.path == FAULTS_PATH:
                self.reply(200, [("Content-Type", "application/json")], faults.report())
                return
            if self.command == "GET" and self.path == ARRIVALS_PATH:
                with arrivals_lock:
                    listed = json.dumps(arrivals)
                self.reply(200, [("Content-Type", "application/json")], listed)
                return
            with arrivals_lock:
                arrivals.append(arrived)
            time.sleep(latency)
            match = SCOPE.search(self.headers.get("Authorization") or "")
            proto = protocol(match.group(1) if match else "", self.headers)
            fault = faults.draw(proto, operation(proto, self.command, self.path, self.headers, body))
            if fault in ("throttle", "server_error"):
                status, headers, err = error_response(proto, fault, self.headers)
                self.reply(status, list(headers.items()), err)
                return
            conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=300)
            skip = ("connection", "transfer-encoding", "content-length", "expect")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if fault == "lost":
                status, headers, err = error_response(proto, fault, self.headers)
                self.reply(status, list(headers.items()), err)
                return
            keep = [
                (k, v)
                for k, v in resp.getheaders()
                if k.lower() not in ("transfer-encoding", "connection", "content-length")
            ]
            length = resp.getheader("Content-Length") if self.command == "HEAD" else None
            self.reply(resp.status, keep, data, length)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = forward

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--throttle", type=float, default=0)
    p.add_argument("--server-error", type=float, default=0)
    p.add_argument("--lost", type=float, default=0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--lose-first", default=None)
    a = p.parse_args()
    rates = {"throttle": a.throttle, "server_error": a.server_error, "lost": a.lost}
    serve(a.port, a.upstream, a.latency_ms / 1000.0, Faults(rates, a.seed, a.lose_first))


if __name__ == "__main__":
    main()
