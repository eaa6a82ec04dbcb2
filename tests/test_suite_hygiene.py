"""The suite's own hygiene check (tests/conftest.py): a test session that leaves a process it
started running fails, even when the process left its parent's process group."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

LEAKY = """
import subprocess
from pathlib import Path

def test_starts_a_process(tmp_path_factory):
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    Path(r"{pidfile}").write_text(str(proc.pid))
    {cleanup}
"""


@pytest.mark.parametrize("cleanup", ["", "proc.kill(); proc.wait()"])
def test_a_session_that_leaves_a_process_running_fails(pytester: pytest.Pytester, tmp_path: Path, cleanup: str) -> None:
    pytester.makeconftest((Path(__file__).resolve().parent / "conftest.py").read_text())
    pidfile = tmp_path / "pid"
    pytester.makepyfile(test_leaky=LEAKY.format(pidfile=pidfile, cleanup=cleanup))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    pid = int(pidfile.read_text())
    try:
        if cleanup:
            assert result.ret == 0
            assert "left processes running" not in result.stdout.str()
        else:
            assert result.ret == pytest.ExitCode.TESTS_FAILED
            result.stdout.fnmatch_lines([f"*error: the test suite left processes running: pid {pid}: sleep 60*"])
    finally:
        if not cleanup:
            os.kill(pid, signal.SIGKILL)  # the process this test made the inner session leak
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # not our child: its parent, the inner session, is gone
                pass
