"""Every code block in README.md and docs/*.md runs, so the manual cannot drift from the code.

Each page runs in a temporary directory of its own, its blocks in the order they appear, so a
block can use what an earlier one wrote (``runs/p`` made by one block and replayed by the next).
What a block is decides how it runs:

- ``sh``/``bash``: run by ``bash -e -o pipefail``. ``ccei`` and ``.venv/bin/ccei`` there are a
  client of a fork server (``tests/docs_forkserver.py``: the CLI's libraries imported once) that
  appends the small-size flags of :data:`SMALL` the block does not give itself (a few steps, a few
  trades, the memory back end), so a block shows the real command and the test stays quick;
  ``.venv/bin/python`` is the interpreter running the tests.
- ``console``: ``$ command`` lines, each followed by the output it must print (stdout and stderr);
  ``…`` in the expected text stands for anything.
- ``pycon``: a doctest (``>>>`` lines and the output they must print; ``...`` stands for anything).
- ``python``: executed, in one namespace per page.
- ``toml``: parsed.

An HTML comment on the line before a block changes that:

- ``<!-- docs-test: skip (REASON) -->``: only syntax-checked (``bash -n``, ``compile()``,
  TOML parsing); for blocks that need a browser, a node, a cluster or the repository's own files;
- ``<!-- docs-test: file NAME -->``: written to NAME in the page's directory, for a later block;
- ``<!-- docs-test: run by PATH -->``: the test file PATH runs it (it must name its first line).

A block of any other kind (``text``, none) must carry a marker.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

#: Flags the ``ccei`` wrapper appends to a command that does not give them itself: a block shows
#: the real command (``ccei bench model --json``) and runs small; a size a block states stands.
SMALL: dict[str, list[str]] = {
    "run": ["--steps", "3", "--chain", "memory", "-q"],
    "sweep": ["--steps", "2", "--seeds", "2", "--workers", "0", "-q"],
    "bench model": ["--small", "40", "--large", "80", "--steps", "1", "--repeats", "1"],
    "bench market": ["--small", "40", "--large", "80", "--slots", "4", "--repeats", "1", "--gap-instances", "1"],
    "bench settlement": ["--trades", "8", "--users", "4", "--suppliers", "2", "--guarantee-rounds", "1"],
    "bench backends": ["--trades", "8", "--users", "4", "--suppliers", "2", "--steps", "2", "--repeats", "1"],
    "bench replay": ["--small", "200", "--large", "400", "--repeats", "1", "--no-signed"],
    "bench classroom": ["--sessions", "2", "--steps", "1", "--blocks", "1"],
}

MARKER = re.compile(r"<!--\s*docs-test:\s*(skip \((?P<reason>[^)]+)\)|file (?P<file>\S+)|run by (?P<runner>\S+))\s*-->")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
RUNNABLE = {"sh", "bash", "console", "pycon", "python", "toml"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: re.Match[str] | None

    @property
    def where(self) -> str:
        name = self.page.relative_to(REPO_ROOT) if self.page.is_relative_to(REPO_ROOT) else self.page
        return f"{name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page`` with the marker on the line before each, if any."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, start = len(fence["indent"]), i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = textwrap.dedent("\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end]))
        marker = MARKER.search(lines[start - 1]) if start else None
        found.append(Block(page, start + 1, fence["lang"], body + "\n", marker))
        i = end + 1
    return found


#: The ``ccei`` client of the fork server (``tests/docs_forkserver.py``), written as an executable
#: script with ``{python}``, ``{socket}`` and ``{extra}`` (a function of the arguments that returns
#: the flags to append) filled in: it sends its three streams (as file descriptors), arguments,
#: working directory and environment, and exits with the exit code the server sends back.
CLIENT = """\
#!{python} -S
import json, os, socket, sys
{extra}
args = sys.argv[1:]
args += extra(args)
payload = json.dumps({{"argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
conn = socket.socket(socket.AF_UNIX)
conn.connect({socket!r})
socket.send_fds(conn, [len(payload).to_bytes(8, "big")], [0, 1, 2])
conn.sendall(payload)
code = b""
while len(code) < 4:
    chunk = conn.recv(4 - len(code))
    if not chunk:
        sys.exit("ccei (docs test): the command ended without an exit code")
    code += chunk
sys.exit(int.from_bytes(code, "big", signed=True))
"""


#: The wrapper's rule, as source: the flags to append to a ``ccei`` command line.
EXTRA = f"""
SMALL = {SMALL!r}
def extra(args):
    if args[:1] == ["run"] and "--resume" in args:  # a resumed run takes its size from the log
        return ["-q"]
    small = list(SMALL.get(" ".join(args[:2]) if args[:1] == ["bench"] else " ".join(args[:1]), []))
    flags = []
    for i, flag in enumerate(small):
        if flag.startswith("-") and flag not in args:  # a flag the block gives itself stands
            takes_value = i + 1 < len(small) and not small[i + 1].startswith("-")
            flags += [flag, small[i + 1]] if takes_value else [flag]
    return flags
"""


def _wrappers(bin_dir: Path, server: Path) -> None:
    """``ccei`` (a client of the fork server, with the small flags) and ``python`` (this
    interpreter) in ``bin_dir``."""
    bin_dir.mkdir(parents=True)
    (bin_dir / "ccei").write_text(CLIENT.format(python=sys.executable, socket=str(server), extra=EXTRA))
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    for name in ("ccei", "python"):
        (bin_dir / name).chmod(0o755)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fork server (``tests/docs_forkserver.py``), ended with its process group."""
    path = tmp_path_factory.mktemp("forkserver") / "ccei.sock"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("docs_forkserver.py")), str(path)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not path.exists():
            assert proc.poll() is None, "the docs fork server did not start"
            assert time.monotonic() < deadline, "the docs fork server did not start within 120 s"
            time.sleep(0.05)
        yield path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _environment(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{workdir / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["COLUMNS"] = "100"
    return env


def _syntax_check(block: Block) -> None:
    if block.lang in ("sh", "bash"):
        result = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{block.where}: {result.stderr}"
    elif block.lang == "python":
        compile(block.text, block.where, "exec")
    elif block.lang == "pycon":
        for example in doctest.DocTestParser().get_examples(block.text):
            compile(example.source, block.where, "single")
    elif block.lang == "toml":
        tomllib.loads(block.text)
    elif block.lang == "json":  # one document, or JSON Lines
        try:
            json.loads(block.text)
        except json.JSONDecodeError:
            for line in filter(str.strip, block.text.splitlines()):
                json.loads(line)
    elif block.lang == "console":
        for command in _console_commands(block.text):
            result = subprocess.run(["bash", "-n"], input=command[0], capture_output=True, text=True, check=False)
            assert result.returncode == 0, f"{block.where}: {result.stderr}"


def _console_commands(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            assert pairs, f"console output before any command: {line!r}"
            pairs[-1][1].append(line)
    return [(command, "\n".join(out).strip()) for command, out in pairs]


def _run_shell(block: Block, workdir: Path, env: dict[str, str]) -> None:
    script = f"set -e -o pipefail\n{block.text}"
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{block.where}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def _run_console(block: Block, workdir: Path, env: dict[str, str]) -> None:
    for command, expected in _console_commands(block.text):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        pattern = ".*".join(re.escape(part) for part in expected.split("…"))
        assert re.fullmatch(pattern, result.stdout.strip(), re.DOTALL), (
            f"{block.where}: `{command}` printed\n{result.stdout}\nnot\n{expected}"
        )


def _run_pycon(block: Block, namespace: dict[str, object]) -> None:
    test = doctest.DocTestParser().get_doctest(block.text, namespace, block.where, str(block.page), block.line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    assert runner.failures == 0, "".join(report)


def run_page(page: Path, workdir: Path, server: Path) -> None:
    _wrappers(workdir / ".venv" / "bin", server)
    env = _environment(workdir)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        marker = block.marker
        if marker and marker["reason"]:
            _syntax_check(block)
        elif marker and marker["file"]:
            _syntax_check(block)
            target = workdir / marker["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text)
        elif marker and marker["runner"]:
            runner = REPO_ROOT / marker["runner"]
            first = block.text.splitlines()[0]
            assert runner.is_file(), f"{block.where}: {marker['runner']} does not exist"
            _syntax_check(block)
            assert first in runner.read_text() or page.name in runner.read_text(), (
                f"{block.where}: {marker['runner']} names neither the block's first line nor {page.name}"
            )
        elif block.lang in ("sh", "bash"):
            _run_shell(block, workdir, env)
        elif block.lang == "console":
            _run_console(block, workdir, env)
        elif block.lang == "pycon":
            _run_pycon(block, namespace)
        elif block.lang == "python":
            exec(compile(block.text, block.where, "exec"), namespace)  # noqa: S102 - the manual's own example
        elif block.lang == "toml":
            tomllib.loads(block.text)
        else:
            raise AssertionError(f"{block.where}: a ```{block.lang} block needs a docs-test marker saying how it is checked")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_block_of_the_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Path) -> None:
    monkeypatch.chdir(tmp_path)  # python and pycon blocks write where the shell blocks do
    run_page(page, tmp_path, server)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_page_has_a_runnable_example(page: Path) -> None:
    assert any(b.marker is None and b.lang in RUNNABLE - {"toml"} for b in blocks(page)), f"{page.name} has no runnable example"


def test_the_readme_stays_a_short_manual() -> None:
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) < 400


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_and_anchor_resolves() -> None:
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if "://" in target:
                continue
            linked = (page.parent / target) if target else page
            assert linked.exists(), f"{page.name}: link to {target}, which does not exist"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{page.name}: link to {target}#{anchor}, which names no heading"


def test_the_parameters_scenarios_md_names_are_the_models() -> None:
    """Each model's paragraph in docs/scenarios.md names only parameters its constructor takes."""
    from agents import MODELS
    from experiments.scenarios import params_model

    text = (REPO_ROOT / "docs" / "scenarios.md").read_text()
    for name, model in MODELS.items():
        paragraph = re.search(rf"^\*\*`{re.escape(name)}`\*\*(.*?)(?:\n\n|\Z)", text, re.M | re.S)
        assert paragraph, f"docs/scenarios.md has no paragraph for the model {name!r}"
        named = {m.group(1) for token in re.findall(r"`([^`]+)`", paragraph[1]) if (m := re.match(r"([a-z_][a-z0-9_]*)(?: =|$)", token))}
        unknown = named - set(params_model(model).model_fields)
        assert not unknown, f"docs/scenarios.md names {sorted(unknown)} as parameters of {name!r}, which takes no such keyword"


# The harness's own checks: a wrong example must fail, a marker must be honoured.


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text))
    return page


def test_a_failing_shell_block_fails_the_page(tmp_path: Path, server: Path) -> None:
    page = _page(tmp_path, "```sh\nfalse\n```\n")
    with pytest.raises(AssertionError, match="exit 1"):
        run_page(page, tmp_path / "w", server)


def test_a_console_block_must_print_what_it_shows(tmp_path: Path, server: Path) -> None:
    page = _page(tmp_path, "```console\n$ echo hello\nhello world\n```\n")
    with pytest.raises(AssertionError, match="printed"):
        run_page(page, tmp_path / "w", server)
    run_page(_page(tmp_path, "```console\n$ echo hello world\nhello …\n```\n"), tmp_path / "w2", server)


def test_a_pycon_block_must_print_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError, match="Expected"):
        run_page(_page(tmp_path, "```pycon\n>>> 1 + 1\n3\n```\n"), tmp_path / "w", server)


def test_an_unmarked_text_block_is_refused_and_a_skipped_one_is_syntax_checked(tmp_path: Path, server: Path) -> None:
    with pytest.raises(AssertionError, match="needs a docs-test marker"):
        run_page(_page(tmp_path, "```text\nanything\n```\n"), tmp_path / "w", server)
    run_page(_page(tmp_path, "<!-- docs-test: skip (needs a browser) -->\n```sh\nopen http://x\n```\n"), tmp_path / "w2", server)
    with pytest.raises(AssertionError):
        run_page(_page(tmp_path, "<!-- docs-test: skip (needs a browser) -->\n```sh\nif then\n```\n"), tmp_path / "w3", server)


def test_the_ccei_wrapper_appends_the_small_flags(tmp_path: Path, server: Path) -> None:
    page = _page(tmp_path, "```sh\nccei run --scenario smith-1962 --out r\nccei run --scenario smith-1962 --steps 2 --out r2\n```\n")
    run_page(page, tmp_path / "w", server)
    header = json.loads((tmp_path / "w" / "r" / "trades.jsonl").read_text().splitlines()[0])
    assert header["steps"] == 3 and json.loads((tmp_path / "w" / "r" / "run.json").read_text())["chain"] == "memory"
    assert json.loads((tmp_path / "w" / "r2" / "trades.jsonl").read_text().splitlines()[0])["steps"] == 2  # its own --steps
