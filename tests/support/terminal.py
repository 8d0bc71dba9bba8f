"""The CLI on a terminal (a pseudo-terminal), answering its prompts as a person would."""

from __future__ import annotations

import os
import select
import sys
import time
from typing import Iterable


def run_in_terminal(args: Iterable[str], env: dict[str, str], answers: Iterable[bytes], timeout: float = 60,
                    prompt_end: bytes = b":") -> tuple[str, int]:
    """`mysfits args` with a terminal for stdin and output; each time the output ends with `prompt_end`,
    the next answer is typed. Returns what the terminal showed and the exit code."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "mysfits_cli.cli", *args], env)
    output, answers = b"", iter(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if output.rstrip().endswith(prompt_end):
            os.write(fd, next(answers, b"\n"))
    _, status = os.waitpid(pid, 0)
    return output.decode(errors="replace"), os.waitstatus_to_exitcode(status)
