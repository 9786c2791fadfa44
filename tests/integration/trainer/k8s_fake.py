"""A small Kubernetes API server for the Kubernetes backend's tests: a real HTTP server in a
thread of the test process, which the real `kubernetes` client reaches through a kubeconfig.

It keeps the objects the client creates (assigning ``uid``, ``resourceVersion`` and
``creationTimestamp`` as the API server does), lists them by label selector, streams watch
events (chunked, one JSON event per line) from a resourceVersion, deletes an owner's
dependents as the garbage collector does, and answers with the recorded Status bodies of
tests/fixtures/kubernetes: 403 Forbidden for a verb the test forbids, 404 for a namespace
that does not exist, 410 Gone (a watch ``ERROR`` event) for a resourceVersion older than an
`expire`. The pods are the recorded pod objects (`put_pod`), given the names, labels,
annotations and owner that their Job's template and the Job give them, as the Job
controller would. Nothing here decides what the backend should do.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes"
_PLURAL_KIND = {
    "configmaps": "ConfigMap",
    "services": "Service",
    "pods": "Pod",
    "jobs": "Job",
    "podgroups": "PodGroup",
}
_GROUP = {"jobs": "batch"}


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _matches(obj: dict[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeApiServer:
    """See the module docstring. ``namespaces``: those that exist."""

    def __init__(self, namespaces: tuple[str, ...] = ("default",)) -> None:
        self.namespaces = set(namespaces)
        self.cond = threading.Condition()
        self._rv = itertools.count(1000)
        self.rv = next(self._rv)
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            plural: {} for plural in _PLURAL_KIND
        }
        self.events: dict[str, list[tuple[int, str, dict[str, Any]]]] = {"pods": [], "jobs": []}
        self.compacted: dict[str, int] = {"pods": 0, "jobs": 0}
        self.forbidden: set[tuple[str, str]] = set()
        self.failures: dict[tuple[str, str], list[int]] = {}  # per create: 0 = succeed
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.delete_options: list[tuple[str, str, dict[str, Any]]] = []
        self.gone_sent = 0
        self.closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        return path

    # -- what a test does -----------------------------------------------------------------

    def named(self, plural: str, namespace: str = "default") -> dict[str, dict[str, Any]]:
        with self.cond:
            return {
                name: copy.deepcopy(obj)
                for (ns, name), obj in self.objects[plural].items()
                if ns == namespace
            }

    def fail_create(self, plural: str, code: int, *, after: int = 0) -> None:
        """The create of ``plural`` after the next ``after`` ones answers ``code``."""
        self.failures.setdefault(("create", plural), []).extend([0] * after + [code])

    def put_pod(
        self,
        job_name: str,
        recording: str,
        *,
        index: int = 0,
        namespace: str = "default",
        log: list[str] | None = None,
    ) -> dict[str, Any]:
        """Job ``job_name``'s pod ``index`` in the state of recorded pod ``recording``:
        created (ADDED) the first time, else replaced (MODIFIED)."""
        with self.cond:
            job = self.objects["jobs"][(namespace, job_name)]
            template = job["spec"]["template"]["metadata"]
            name = f"{job_name}-{index}"
            pod = copy.deepcopy(recorded(recording))
            meta = pod["metadata"]
            old = self.objects["pods"].get((namespace, name))
            annotations = dict(template.get("annotations") or {})
            if job["spec"].get("completionMode") == "Indexed":
                annotations["batch.kubernetes.io/job-completion-index"] = str(index)
            meta.update(
                name=name,
                namespace=namespace,
                uid=old["metadata"]["uid"] if old else str(uuid.uuid4()),
                labels=dict(template.get("labels") or {}),
                annotations=annotations,
                ownerReferences=[
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job_name,
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            )
            meta.pop("selfLink", None)
            if log is not None:
                self.logs[(namespace, name)] = list(log)
            self._store("pods", namespace, pod, "MODIFIED" if old else "ADDED")
            return pod

    def expire(self, plural: str, then_pod: tuple[str, str] | None = None) -> None:
        """Compact ``plural``'s history: every watch open now, and any from an older
        resourceVersion, gets 410 Gone. ``then_pod`` (job name, recording) changes a pod
        while the watches are down."""
        with self.cond:
            self.compacted[plural] = self.rv + 1
            if then_pod is not None:
                self.put_pod(*then_pod)
            self.cond.notify_all()

    # -- the store --------------------------------------------------------------------------

    def _store(self, plural: str, namespace: str, obj: dict[str, Any], kind: str) -> None:
        self.rv = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.objects[plural].pop((namespace, name), None)
        else:
            self.objects[plural][(namespace, name)] = obj
        if plural in self.events:
            self.events[plural].append((self.rv, kind, copy.deepcopy(obj)))
        self.cond.notify_all()

    def create(self, plural: str, namespace: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self.cond:
            queued = self.failures.get(("create", plural))
            code = queued.pop(0) if queued else 0
            if code:
                return _status(code, plural, namespace, body["metadata"]["name"])
            if ("create", plural) in self.forbidden:
                return _status(403, plural, namespace, "")
            if namespace not in self.namespaces:
                return _status(404, "namespaces", namespace, namespace)
            name = body["metadata"]["name"]
            if (namespace, name) in self.objects[plural]:
                return _status(409, plural, namespace, name)
            meta = body["metadata"]
            meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=_now())
            self._store(plural, namespace, body, "ADDED")
            return 201, body

    def delete(self, plural: str, namespace: str, name: str) -> tuple[int, Any]:
        with self.cond:
            if ("delete", plural) in self.forbidden:
                return _status(403, plural, namespace, name)
            obj = self.objects[plural].get((namespace, name))
            if obj is None:
                return _status(404, plural, namespace, name)
            self._collect(plural, namespace, obj)
            return 200, obj

    def _collect(self, plural: str, namespace: str, obj: dict[str, Any]) -> None:
        """Delete ``obj`` and, as the garbage collector does, everything it owns."""
        uid = obj["metadata"]["uid"]
        for other_plural, objects in self.objects.items():
            for (ns, _), other in list(objects.items()):
                owners = other["metadata"].get("ownerReferences") or []
                if ns == namespace and any(o.get("uid") == uid for o in owners):
                    self._collect(other_plural, ns, other)
        gone = copy.deepcopy(obj)
        self._store(plural, namespace, gone, "DELETED")

    def listing(self, plural: str, namespace: str, selector: str) -> dict[str, Any]:
        with self.cond:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in self.objects[plural].items()
                if ns == namespace and _matches(obj, selector)
            ]
            return {
                "kind": f"{_PLURAL_KIND[plural]}List",
                "apiVersion": "batch/v1" if plural == "jobs" else "v1",
                "metadata": {"resourceVersion": str(self.rv)},
                "items": items,
            }

    def watch(
        self, plural: str, namespace: str, selector: str, since: str, timeout: float
    ) -> Iterator[dict[str, Any]]:
        """The watch events after ``since``, as they come; a 410 ERROR event when it (or the
        watch, meanwhile) is older than the compacted history."""
        start = int(since or self.rv)
        deadline = threading.Event()
        timer = threading.Timer(timeout, lambda: (deadline.set(), self._wake()))
        timer.start()
        try:
            position = start
            while True:
                with self.cond:
                    if position < self.compacted[plural]:
                        self.gone_sent += 1
                        gone = recorded("watch-error-410-expired.json")
                        gone["object"]["message"] = (
                            f"too old resource version: {position} ({self.compacted[plural]})"
                        )
                        yield gone
                        return
                    found = [
                        (rv, kind, obj)
                        for rv, kind, obj in self.events[plural]
                        if rv > position
                        and obj["metadata"]["namespace"] == namespace
                        and _matches(obj, selector)
                    ]
                    if not found:
                        if self.closing or deadline.is_set():
                            return
                        self.cond.wait()
                        continue
                for rv, kind, obj in found:
                    position = rv
                    yield {"type": kind, "object": obj}
                with self.cond:
                    position = max(position, max(rv for rv, _, _ in found))
        finally:
            timer.cancel()

    def _wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def follow_log(self, namespace: str, pod: str, follow: bool) -> Iterator[str] | None:
        """The pod's log lines; following, until the pod ended or went. None: no such pod."""
        with self.cond:
            if (namespace, pod) not in self.objects["pods"]:
                return None

        def lines() -> Iterator[str]:
            sent = 0
            while True:
                with self.cond:
                    found = self.logs.get((namespace, pod), [])
                    fresh, sent = found[sent:], len(found)
                    obj = self.objects["pods"].get((namespace, pod))
                    phase = ((obj or {}).get("status") or {}).get("phase")
                    ended = obj is None or phase in ("Succeeded", "Failed") or self.closing
                    if not fresh and not ended and follow:
                        self.cond.wait()
                        continue
                yield from fresh
                if ended or not follow:
                    return

        return lines()


def _status(code: int, plural: str, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
    """The recorded Status body of ``code``, adapted to the resource and namespace asked."""
    group = _GROUP.get(plural, "")
    resource = f"{plural}.{group}" if group else plural
    if code == 403:
        body = recorded("status-403-forbidden-create-jobs.json")
        body["message"] = (
            f'{resource} is forbidden: User "system:serviceaccount:default:job-robot" cannot '
            f'create resource "{plural}" in API group "{group}" in the namespace '
            f'"{namespace}"'
        )
        body["details"] = {"group": group, "kind": plural}
    elif code == 404 and plural == "namespaces":
        body = recorded("status-404-namespace-not-found.json")
        body["message"] = f'namespaces "{namespace}" not found'
        body["details"] = {"name": namespace, "kind": "namespaces"}
    else:
        reason = {404: "NotFound", 409: "AlreadyExists", 500: "InternalError"}.get(code, "Unknown")
        text = {404: "not found", 409: "already exists"}.get(code, "an error on the server")
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'{resource} "{name}" {text}',
            "reason": reason,
            "details": {"name": name, "group": group, "kind": plural},
            "code": code,
        }
    return code, body


def _handler(api: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _route(self) -> tuple[str, str, str, str, dict[str, list[str]]]:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            parts = url.path.strip("/").split("/")
            at = parts.index("namespaces")
            namespace, plural = parts[at + 1], parts[at + 2]
            name = parts[at + 3] if len(parts) > at + 3 else ""
            sub = parts[at + 4] if len(parts) > at + 4 else ""
            api.requests.append((self.command, url.path, query))
            return namespace, plural, name, sub, query

        def _send(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, lines: Iterator[str], content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for line in lines:
                    data = (line + "\n").encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_GET(self) -> None:
            namespace, plural, name, sub, query = self._route()
            selector = (query.get("labelSelector") or [""])[0]
            if sub == "log":
                follow = (query.get("follow") or ["false"])[0].lower() == "true"
                lines = api.follow_log(namespace, name, follow)
                if lines is None:
                    self._send(*_status(404, "pods", namespace, name))
                    return
                self._stream(lines, "text/plain")
                return
            if name:
                obj = api.named(plural, namespace).get(name)
                if obj is None:
                    self._send(*_status(404, plural, namespace, name))
                else:
                    self._send(200, obj)
                return
            if (query.get("watch") or ["false"])[0].lower() in ("true", "1"):
                since = (query.get("resourceVersion") or [""])[0]
                timeout = float((query.get("timeoutSeconds") or ["60"])[0])
                events = api.watch(plural, namespace, selector, since, timeout)
                self._stream((json.dumps(e) for e in events), "application/json")
                return
            self._send(200, api.listing(plural, namespace, selector))

        def do_POST(self) -> None:
            namespace, plural, _, _, _ = self._route()
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._send(*api.create(plural, namespace, body))

        def do_DELETE(self) -> None:
            namespace, plural, name, _, _ = self._route()
            length = int(self.headers.get("Content-Length") or 0)
            options = json.loads(self.rfile.read(length)) if length else {}
            api.delete_options.append((plural, name, options))
            self._send(*api.delete(plural, namespace, name))

    return Handler
