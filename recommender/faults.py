"""Fault injection for the crash tests: ``RECSYS_FAILPOINT=NAME`` kills the process with
SIGKILL at the point of that name, as a power cut or the OOM killer would. Unset, nothing."""

from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    if os.environ.get("RECSYS_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
