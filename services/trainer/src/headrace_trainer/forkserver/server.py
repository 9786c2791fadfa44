"""The warm fork server: a helper process that has kfp's executor imported already, and
forks one child per step.

Protocol (JSON lines; requests on stdin, replies on stdout)::

    <- {"ready": true, "pid": N}                                   once, after the imports
    -> {"id": 7, "cwd": ..., "log": ..., "env": {...},
        "source": ..., "args": [...]                               a lightweight Python step
        | "argv": [program, ...],                                  or any other command
        "process_record": path | null, "exit_record": path | null}
    <- {"id": 7, "pid": 1234}                                      the child started
    <- {"id": 7, "exit": 0}                                        it ended (-N: signal N)
    <- {"id": 7, "error": "..."}                                   it could not be forked

Each child starts a new session (its own process group, so neither a signal to the
trainer's group nor the trainer's death reaches it), chdirs to ``cwd``, sends stdout and
stderr to ``log``, claims its process record (see `records`; a voided execution exits at
once with code 75 and runs nothing), then either writes the component source to
``cwd/ephemeral_component.py`` and runs ``kfp.dsl.executor_main`` with ``args``, or
executes ``argv`` (``argv[0]`` a path the trainer resolved). When a child ends, its exit
record is written before it is reaped.

When stdin closes (the trainer stopped or died) the server takes no more requests but keeps
reaping its running children and writing their exit records, then ends. A reply nobody can
read any more is dropped. This module imports nothing from Headrace: it must start fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import sys
import traceback
from typing import Any

from . import records

COMPONENT_FILE = "ephemeral_component.py"


def _preload() -> None:
    """Import what every component imports, before any fork (the point of the server)."""
    os.environ["_KFP_RUNTIME"] = "true"
    import typing  # noqa: F401

    import kfp
    import kfp.dsl
    import kfp.dsl.executor
    import kfp.dsl.executor_main  # noqa: F401


class _Replies:
    """Replies on stdout, until nobody reads them any more."""

    def __init__(self) -> None:
        self.open = True

    def send(self, reply: dict[str, Any]) -> None:
        data = (json.dumps(reply) + "\n").encode()
        while data and self.open:
            try:
                written = os.write(1, data)
            except OSError:  # the trainer is gone; the exit records still tell
                self.open = False
                return
            data = data[written:]


def _child(request: dict[str, Any], wake: tuple[int, int]) -> None:
    """In the forked child: become the step, never return."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (
            signal.SIGCHLD,
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGPIPE,
            signal.SIGXFSZ,
        ):
            signal.signal(sig, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        os.chdir(request["cwd"])
        process_record = request.get("process_record")
        if process_record and not records.claim(process_record):
            os._exit(records.VOIDED)
        if request.get("argv"):
            os.environ.pop("_KFP_RUNTIME", None)
            os.environ.update(request.get("env") or {})
            argv = request["argv"]
            os.execv(argv[0], argv)
        os.environ.update(request.get("env") or {})
        module = os.path.join(request["cwd"], COMPONENT_FILE)
        with open(module, "w", encoding="utf-8") as file:
            file.write(request["source"])
        sys.argv = ["kfp.dsl.executor_main", "--component_module_path", module, *request["args"]]
        from kfp.dsl import executor_main

        try:
            executor_main.executor_main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if not isinstance(exit_.code, int | None):
                print(exit_.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    _preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer stops us by closing stdin
    replies = _Replies()
    children: dict[int, dict[str, Any]] = {}
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    replies.send({"ready": True, "pid": os.getpid()})
    pending = b""
    open_input = True
    while open_input or children:
        for key, _ in selector.select(timeout=1.0):
            if key.fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                open_input = False
                selector.unregister(0)
                continue
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    _spawn(json.loads(line), children, (wake_r, wake_w), replies)
        _reap(children, replies)


def _spawn(
    request: dict[str, Any],
    children: dict[int, dict[str, Any]],
    wake: tuple[int, int],
    replies: _Replies,
) -> None:
    try:
        pid = os.fork()
    except OSError as error:
        replies.send({"id": request.get("id"), "error": f"fork failed: {error}"})
        return
    if pid == 0:
        _child(request, wake)
    children[pid] = request
    replies.send({"id": request.get("id"), "pid": pid})


def _reap(children: dict[int, dict[str, Any]], replies: _Replies) -> None:
    """Record and reap every child that ended (its exit record first, then the reaping)."""
    while children:
        try:
            status = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if status is None:
            return
        pid, code = status.si_pid, records.exit_code(status)
        request = children.pop(pid, {})
        exit_record = request.get("exit_record")
        if exit_record:
            try:
                records.write_exit(exit_record, pid, code)
            except OSError as error:
                print(f"fork server: exit record of {pid}: {error}", file=sys.stderr)
        os.waitpid(pid, 0)
        replies.send({"id": request.get("id"), "exit": code})
