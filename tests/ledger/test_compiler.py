"""The Solidity toolchain: compiler discovery, compilation and the artifact freshness check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from ledger import compiler
from ledger.compiler import BUILD_DIR, CONTRACTS_DIR, check_artifacts, compile_contracts, find_solc, write_artifacts
from ledger.errors import CompilationFailed, CompilerNotFound, StaleArtifacts


@pytest.fixture()
def contracts_copy(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "contracts"
    src.mkdir()
    for sol in CONTRACTS_DIR.glob("*.sol"):
        shutil.copy(sol, src / sol.name)
    build = tmp_path / "build"
    shutil.copytree(BUILD_DIR, build)
    return src, build


def test_committed_artifacts_are_current() -> None:
    check_artifacts()


def test_check_fails_after_a_source_edit_and_names_the_artifacts(contracts_copy: tuple[Path, Path]) -> None:
    src, build = contracts_copy
    check_artifacts(src, build)
    token = src / "SettlementToken.sol"
    token.write_text(token.read_text() + "\n// an edit\n")
    with pytest.raises(StaleArtifacts, match=r"SettlementToken \(stale\)"):
        check_artifacts(src, build)


def test_check_names_missing_and_orphaned_artifacts(contracts_copy: tuple[Path, Path]) -> None:
    src, build = contracts_copy
    (build / "SettlementToken.json").unlink()
    (build / "Ghost.json").write_text(json.dumps({"compiler": {"version": "0.8.30"}, "sourcesHash": "x"}))
    with pytest.raises(StaleArtifacts, match=r"SettlementToken \(missing\).*Ghost \(no longer in the sources\)"):
        check_artifacts(src, build)


def test_check_with_no_artifacts_says_to_compile(tmp_path: Path) -> None:
    with pytest.raises(StaleArtifacts, match="run `ccei compile`"):
        check_artifacts(CONTRACTS_DIR, tmp_path)


def test_solc_binary_env_var_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOLC_BINARY", str(compiler.BRIDGE))
    solc = find_solc()
    assert solc.origin == "SOLC_BINARY"
    assert solc.version.startswith(compiler.PINNED_SOLC)


def test_solc_binary_env_var_pointing_nowhere_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOLC_BINARY", str(tmp_path / "nope"))
    with pytest.raises(CompilerNotFound, match="is not a file"):
        find_solc()


def test_solc_binary_that_is_not_solc_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "solc"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SOLC_BINARY", str(fake))
    with pytest.raises(CompilerNotFound, match="does not answer like solc"):
        find_solc()


def _no_native_solc(monkeypatch: pytest.MonkeyPatch, node: bool = True) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.delenv(compiler.SOLCJS_ENV, raising=False)
    monkeypatch.setattr(compiler.shutil, "which", lambda name: "/usr/bin/node" if node and name == "node" else None)
    monkeypatch.setattr(compiler.solcx, "get_installed_solc_versions", lambda: [])


def test_a_native_solc_on_path_comes_before_solc_js(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setattr(compiler.shutil, "which", lambda name: str(compiler.BRIDGE) if name == "solc" else None)
    assert find_solc().origin == "PATH"


def test_a_py_solc_x_install_comes_before_solc_js(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_native_solc(monkeypatch)
    installed = tmp_path / f"solc-v{compiler.PINNED_SOLC}"  # where `solcx.install_solc` puts it
    installed.symlink_to(compiler.BRIDGE)
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    monkeypatch.setattr(compiler.solcx, "get_installed_solc_versions", lambda: [Version(compiler.PINNED_SOLC)])
    solc = find_solc()
    assert solc.origin == "py-solc-x" and solc.path == str(installed) and solc.version.startswith(compiler.PINNED_SOLC)


def test_falls_back_to_solc_js_of_the_working_directory_or_above(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_native_solc(monkeypatch)
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "node_modules").symlink_to(compiler.REPO_ROOT / "node_modules")  # the user's `npm install solc`
    monkeypatch.chdir(project / "tests")
    solc = find_solc()
    assert solc.origin == f"solc-js ({project / 'node_modules' / 'solc'})"
    assert solc.path == str(compiler.BRIDGE) and solc.version.startswith(compiler.PINNED_SOLC)


def test_ccei_solcjs_names_the_solc_js_to_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_native_solc(monkeypatch)
    monkeypatch.setenv(compiler.SOLCJS_ENV, str(compiler.REPO_ROOT / "node_modules" / "solc"))
    monkeypatch.chdir(tmp_path)
    assert find_solc().origin == f"solc-js ({compiler.REPO_ROOT / 'node_modules' / 'solc'})"
    monkeypatch.setenv(compiler.SOLCJS_ENV, str(tmp_path))  # no package there
    monkeypatch.setattr(compiler, "REPO_ROOT", tmp_path)
    with pytest.raises(CompilerNotFound, match=r"^no Solidity compiler: .*CCEI_SOLCJS"):
        find_solc()


def test_solc_js_without_node_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_native_solc(monkeypatch, node=False)
    with pytest.raises(CompilerNotFound, match="but node is not on PATH"):
        find_solc()


def test_no_compiler_anywhere_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_native_solc(monkeypatch)
    monkeypatch.setattr(compiler, "REPO_ROOT", tmp_path)  # a checkout without node_modules
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CompilerNotFound) as info:
        find_solc()
    message = str(info.value)
    assert "\n" not in message and "solc on PATH" in message and "npm install solc@0.8.30" in message


def test_recompiling_reproduces_the_committed_bytecode(contracts_copy: tuple[Path, Path], tmp_path: Path) -> None:
    src, _ = contracts_copy
    fresh = compile_contracts(src)
    out = tmp_path / "fresh-build"
    write_artifacts(fresh, out)
    for path in BUILD_DIR.glob("*.json"):
        committed = json.loads(path.read_text())
        rebuilt = json.loads((out / path.name).read_text())
        assert rebuilt["bytecode"] == committed["bytecode"], path.name
        assert rebuilt["abi"] == committed["abi"], path.name
    check_artifacts(src, out)


def test_compilation_errors_surface_as_one_line(contracts_copy: tuple[Path, Path]) -> None:
    src, _ = contracts_copy
    (src / "Broken.sol").write_text("pragma solidity 0.8.30;\ncontract Broken { function f( }\n")
    with pytest.raises(CompilationFailed, match="ParserError"):
        compile_contracts(src)
