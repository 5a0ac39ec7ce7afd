"""A Kubernetes API server stand-in for `apply --target k8s` tests: HTTPS with a test CA,
bearer-token auth, and the answers of a real kube-apiserver for what wxinfra sends.

It answers as kube-apiserver does where clients are known to trip:
- discovery (`GET /api/v1`, `GET /apis/GROUP/VERSION`) lists the served resources; a group
  it does not serve (SpinKube's CRDs not installed) is a plain-text `404 page not found`,
  not a `Status` object, as is any path under it;
- server-side apply is `PATCH` with `Content-Type: application/apply-patch+yaml` (anything
  else: 415) and needs `fieldManager` (else 400); an object whose fields another manager
  owns is a 409 `Conflict` unless `force=true`;
- errors on known resources (not found, conflict, unauthorized) are `Status` objects;
- list with `labelSelector=k=v`, namespaced or across namespaces; delete answers a `Status`.
Deployments report themselves available as soon as they are applied.

Usage: apiserver.py --port P --cert C --key K --token T --log L --state S [--seed F] [--crds]
Every request is appended to L as a JSON line; the objects are written to S after each change.
"""

import argparse
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BUILTIN = {
    "v1": [("namespaces", "Namespace", False), ("services", "Service", True)],
    "apps/v1": [("deployments", "Deployment", True)],
    "networking.k8s.io/v1": [("ingresses", "Ingress", True)],
}
SPINKUBE = {
    "core.spinkube.dev/v1alpha1": [
        ("spinapps", "SpinApp", True),
        ("spinappexecutors", "SpinAppExecutor", True),
    ]
}


def status(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class Store:
    def __init__(self, served, state_path):
        self.served = served
        self.state_path = state_path
        self.objects = {}  # (group_version, plural, namespace, name) -> object
        self.lock = threading.Lock()
        self.version = 0

    def plural_of(self, group_version, kind):
        for plural, k, _ in self.served.get(group_version, []):
            if k == kind:
                return plural
        return None

    def put(self, key, obj):
        self.version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", f"uid-{self.version}")
        self.objects[key] = obj
        self.save()

    def save(self):
        with open(self.state_path, "w") as f:
            json.dump([o for o in self.objects.values()], f, indent=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_served(self):
        self.reply(404, "404 page not found\n", "text/plain; charset=utf-8")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with open(self.server.log_path, "a") as f:
            f.write(
                json.dumps(
                    {
                        "method": self.command,
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": body.decode(errors="replace"),
                    }
                )
                + "\n"
            )
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self.reply(401, status(401, "Unauthorized", "Unauthorized"))
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group_version, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return self.not_served()
        store = self.server.store
        resources = store.served.get(group_version)
        if resources is None:
            return self.not_served()
        if not rest:
            if self.command != "GET":
                return self.reply(405, status(405, "MethodNotAllowed", "method not allowed"))
            listed = [
                {"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k,
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                for p, k, ns in resources
            ]
            return self.reply(
                200, {"kind": "APIResourceList", "groupVersion": group_version, "resources": listed}
            )
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        known = {p: (k, ns) for p, k, ns in resources}
        if plural not in known or len(rest) > 2:
            return self.not_served()
        kind, namespaced = known[plural]
        key = (group_version, plural, namespace if namespaced else None, name)
        with store.lock:
            if name is None:
                if self.command != "GET":
                    return self.reply(405, status(405, "MethodNotAllowed", "method not allowed"))
                return self.list(store, group_version, plural, kind, namespace, query)
            if self.command == "GET":
                obj = store.objects.get(key)
                if obj is None:
                    return self.reply(404, status(404, "NotFound", f'{plural} "{name}" not found'))
                return self.reply(200, obj)
            if self.command == "DELETE":
                if store.objects.pop(key, None) is None:
                    return self.reply(404, status(404, "NotFound", f'{plural} "{name}" not found'))
                store.save()
                return self.reply(
                    200,
                    {"kind": "Status", "apiVersion": "v1", "status": "Success",
                     "details": {"name": name, "kind": plural}},
                )
            if self.command == "PATCH":
                return self.apply(store, key, group_version, kind, name, namespace, query, body)
        return self.reply(405, status(405, "MethodNotAllowed", "method not allowed"))

    def list(self, store, group_version, plural, kind, namespace, query):
        selector = query.get("labelSelector")
        items = []
        for (gv, p, ns, _), obj in sorted(store.objects.items(), key=lambda kv: str(kv[0])):
            if gv != group_version or p != plural or (namespace and ns != namespace):
                continue
            if selector:
                k, _, v = selector.partition("=")
                if obj.get("metadata", {}).get("labels", {}).get(k) != v:
                    continue
            items.append(obj)
        return self.reply(
            200,
            {"kind": f"{kind}List", "apiVersion": group_version,
             "metadata": {"resourceVersion": str(store.version)}, "items": items},
        )

    def apply(self, store, key, group_version, kind, name, namespace, query, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/apply-patch+yaml":
            return self.reply(
                415,
                status(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types "
                       f"include: application/json-patch+json, application/merge-patch+json, "
                       f"application/apply-patch+yaml, application/strategic-merge-patch+json"),
            )
        manager = query.get("fieldManager")
        if not manager:
            return self.reply(
                400,
                status(400, "BadRequest",
                       'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                       "is required for apply patch"),
            )
        try:
            obj = json.loads(body)
        except ValueError as e:
            return self.reply(400, status(400, "BadRequest", f"error decoding YAML: {e}"))
        meta = obj.get("metadata", {})
        if (obj.get("apiVersion"), obj.get("kind"), meta.get("name")) != (group_version, kind, name):
            return self.reply(
                400, status(400, "BadRequest", "the object does not match the request path")
            )
        if namespace is not None and meta.get("namespace", namespace) != namespace:
            return self.reply(
                400, status(400, "BadRequest", "the namespace of the object does not match")
            )
        old = store.objects.get(key)
        owners = [m["manager"] for m in (old or {}).get("metadata", {}).get("managedFields", [])]
        others = [m for m in owners if m != manager]
        if others and query.get("force") != "true":
            conflict = status(
                409, "Conflict",
                f'Apply failed with 1 conflict: conflict with "{others[0]}": .metadata.labels',
            )
            return self.reply(409, conflict)
        old_meta = (old or {}).get("metadata", {})
        generation = old_meta.get("generation", 0) + 1
        if "uid" in old_meta:
            meta["uid"] = old_meta["uid"]
        meta["generation"] = generation
        meta["managedFields"] = [{"manager": manager, "operation": "Apply"}]
        if kind == "Deployment":
            replicas = obj.get("spec", {}).get("replicas", 1)
            obj["status"] = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }
        store.put(key, obj)
        return self.reply(201 if old is None else 200, obj)

    do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = handle_any


def main():
    a = argparse.ArgumentParser()
    for flag in ("--port", "--cert", "--key", "--token", "--log", "--state"):
        a.add_argument(flag, required=True)
    a.add_argument("--seed")
    a.add_argument("--crds", action="store_true")
    args = a.parse_args()
    served = dict(BUILTIN, **(SPINKUBE if args.crds else {}))
    store = Store(served, args.state)
    if args.seed:
        for obj in json.load(open(args.seed)):
            gv, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
            plural = store.plural_of(gv, kind)
            store.put((gv, plural, meta.get("namespace"), meta["name"]), obj)
    store.save()
    server = ThreadingHTTPServer(("127.0.0.1", int(args.port)), Handler)
    server.store, server.token, server.log_path = store, args.token, args.log
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
