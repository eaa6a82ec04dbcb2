"""The Solidity toolchain: compiler discovery, compilation and the artifact freshness check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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


def test_falls_back_to_solc_js_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setattr(compiler.shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)
    monkeypatch.setattr(compiler.solcx, "get_installed_solc_versions", lambda: [])
    solc = find_solc()
    assert solc.origin == "npm solc-js"
    assert solc.path == str(compiler.BRIDGE)


def test_no_compiler_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setattr(compiler.shutil, "which", lambda name: None)
    monkeypatch.setattr(compiler.solcx, "get_installed_solc_versions", lambda: [])
    with pytest.raises(CompilerNotFound, match="npm ci"):
        find_solc()


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
