"""The package as a contract developer gets it: a wheel installed into a fresh virtual environment
outside the repository, running the documented example test project (its own contract included)
with the plugin loaded from its entry point and no conftest. The project is docs/contracts.md's
example, so this test is what runs that page's Python and Solidity blocks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import web3

from ledger.compiler import REPO_ROOT

SOURCES = ("pyproject.toml", "setup.py", "README.md", "market", "agents", "ledger", "experiments", "contracts")


def docs_block(language: str, first_line: str) -> str:
    """docs/contracts.md's fenced ``language`` block that starts with ``first_line``."""
    text = (REPO_ROOT / "docs" / "contracts.md").read_text()
    for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no {language} block starting with {first_line!r} in docs/contracts.md")


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"  # a copy, so building writes nothing into the checkout
    source.mkdir()
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    if (REPO_ROOT / "node_modules").is_dir():  # what the contracts import from npm
        (source / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(dist), "-q"],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("ccei_market-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv with only the wheel installed; the dependencies come from this environment's
    site-packages, seen through a folder of links that leaves out this checkout's own install."""
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # type: ignore[attr-defined]
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    shared = Path(web3.__file__).resolve().parents[1]
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in shared.iterdir():
        own = entry.name.startswith(("ccei_market", "__editable__", "ledger", "market", "agents", "experiments"))
        if not own and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    (site / "zz-shared-deps.pth").write_text(f"{deps}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return python


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("wheel")
    return fresh_venv(tmp_path, build_wheel(tmp_path))


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CCEI_SOLCJS")}


def test_the_wheel_carries_the_suite_and_registers_only_its_own_plugin(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.metadata as m, ledger, ledger.compiler as c;"
        "print(ledger.__file__);"
        "print(c.BUILD_DIR, sorted(p.name for p in c.BUILD_DIR.glob('*.json'))[:2]);"
        "print([(d.metadata['Name'], e.value) for d in m.distributions() for e in d.entry_points.select(group='pytest11')])"
    )
    out = subprocess.run([installed, "-c", probe], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    site = str(installed.parents[1])
    assert lines[0].startswith(site)  # the wheel's ledger, not this checkout's
    assert lines[1].startswith(f"{site}/lib/python3.11/site-packages/ledger/solidity/build")
    plugins = eval(lines[2])  # noqa: S307 - our own probe's repr
    assert [p for p in plugins if p[1] == "ledger.pytest_plugin"] == [("ccei-market", "ledger.pytest_plugin")]
    # every file the packaged sources import is packaged too (OpenZeppelin's, from node_modules)
    packaged = Path(lines[1].split()[0]).parent
    sources = sorted(packaged.glob("*.sol"))
    assert {p.stem for p in sources} >= {"Settlement", "SettlementToken", "ParticipantRegistry"}
    todo, seen = list(sources), set()
    while todo:
        source = todo.pop()
        for name in re.findall(r'^\s*import\s+(?:[^"\';]*\bfrom\s+)?["\']([^"\']+)["\']', source.read_text(), re.M):
            candidates = [source.parent / name, packaged / "node_modules" / name, packaged / name]
            found = next((c.resolve() for c in candidates if c.is_file()), None)
            assert found is not None, f"{source.name} imports {name}, which the wheel lacks"
            if found not in seen:
                seen.add(found)
                todo.append(found)


def test_the_docs_example_project_passes_in_a_fresh_environment(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "my-market"
    (project / "contracts").mkdir(parents=True)
    (project / "test_my_market.py").write_text(docs_block("python", "# test_my_market.py"))
    (project / "contracts" / "Voucher.sol").write_text(docs_block("solidity", "// contracts/Voucher.sol"))
    (project / "node_modules").mkdir()  # the developer's `npm install solc@0.8.30`
    (project / "node_modules" / "solc").symlink_to(REPO_ROOT / "node_modules" / "solc")
    result = subprocess.run(
        [installed, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--gas-report", "test_my_market.py"],
        cwd=project,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b3 passed\b", result.stdout)
    assert re.search(r"Voucher\s+constructor\s+1\s", result.stdout)
