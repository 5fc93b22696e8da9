"""`tessera-mcp login` on a pseudo-terminal, driven from a process of its own.

test_mcp_cli.py runs this file with a fresh interpreter (the key on its stdin) and reads one
JSON object from its stdout: what the terminal showed, the exit status and, for a login killed
by a signal, which one.

Why a process of its own: the pty's master end is a bare file descriptor. In the pytest
process, after the other packages' tests (services, clients, event loops and their threads),
that number can be closed under pexpect by something else that still holds it: the kernel
then hangs up the terminal, the login dies of SIGHUP before its prompt, and pexpect reports an
end of file with nothing read and no exit status (seen in full-suite runs). Here nothing else
runs, so the terminal lives exactly as long as the login.
"""

from __future__ import annotations

import json
import os
import sys

import pexpect


def main() -> int:
    key = sys.stdin.readline().strip()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "tessera_mcp", "login", "--no-verify"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=60,
    )
    shown = ""
    try:
        child.expect("Tessera API key")
        shown = (child.before or "") + str(child.after)
        child.sendline(key)
        child.expect(pexpect.EOF)
    except (pexpect.EOF, pexpect.TIMEOUT) as exc:
        shown += f"\n[{type(exc).__name__} before the login finished]"
    shown += child.before or ""
    child.close()
    print(
        json.dumps(
            {
                "transcript": shown,
                "exitstatus": child.exitstatus,
                "signalstatus": child.signalstatus,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
