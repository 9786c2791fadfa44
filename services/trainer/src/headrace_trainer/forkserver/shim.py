"""``python -m headrace_trainer.forkserver.shim [--join PROCS]... PROCESS_RECORD EXIT_RECORD
PROGRAM [ARG...]``: a step's command as a plain subprocess that still leaves its records
(see `records`).

What the trainer starts when the fork server is down. The shim is the step's process as the
trainer sees it (the leader of the step's process group): it claims the process record
(exiting with 75 and running nothing when the execution was voided), runs the command as
its child, writes the exit record before reaping it, and exits as the command did. It
outlives a SIGTERM, SIGINT or SIGHUP sent to the group, so the command's own response to
them is what gets recorded.

The local workload backend supervises each replica of a gang the same way. ``--join PROCS``
(repeatable) first moves the shim into a cgroup by writing its pid to that
``cgroup.procs`` file, so the command is limited from its first instruction; a cgroup it
cannot join is said on stderr (the replica's log) and the command runs unlimited.

`serve` is the same supervisor started ahead of time (`python -S`, the launch read from
stdin): the local backend keeps one ready for the next replica.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from . import records


def serve() -> None:
    """A supervisor started before its replica is known (the local backend keeps one ready,
    so a replica does not wait for a Python to start): it reads the replica's launch from
    stdin, one JSON line (``log``, ``cwd``, ``env`` and `main`'s ``argv``), then goes on as
    `main`, its output appended to the log. At end of input (the trainer stopped or died
    before it was needed) it exits, having run nothing."""
    line = sys.stdin.buffer.readline()
    if not line.strip():
        os._exit(0)
    launch = json.loads(line)
    log = os.open(launch["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(launch["cwd"])
    main(launch["argv"], launch["env"])


def main(argv: list[str], env: dict[str, str] | None = None) -> None:
    while len(argv) > 1 and argv[0] == "--join":
        _join(argv[1])
        argv = argv[2:]
    process_record, exit_record, program, *args = argv
    if not records.claim(process_record):
        os._exit(records.VOIDED)
    child = os.fork()
    if child == 0:
        try:
            for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; a command must not
                signal.signal(sig, signal.SIG_DFL)
            if env is None:
                os.execv(program, [program, *args])
            os.execve(program, [program, *args], env)
        finally:
            os._exit(127)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda _sig, _frame: None)
    status = os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
    assert status is not None
    code = records.exit_code(status)
    records.write_exit(exit_record, os.getpid(), code)
    os.waitpid(child, 0)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


def _join(procs: str) -> None:
    try:
        with open(procs, "w", encoding="ascii") as file:
            file.write(str(os.getpid()))
    except OSError as error:
        print(
            f"headrace: the limits are not enforced: cannot join {procs}: {error}", file=sys.stderr
        )


if __name__ == "__main__":
    main(sys.argv[1:])
