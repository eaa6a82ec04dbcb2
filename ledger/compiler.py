"""Compiling Solidity (the suite's sources in ``contracts/`` or a user's own) and keeping the
committed artifacts fresh.

The compiler is found in this order (see :func:`find_solc`):

1. the ``SOLC_BINARY`` environment variable;
2. a native ``solc`` on ``PATH``, or one installed by py-solc-x;
3. npm's ``solc`` package (solc-js) through the bridge ``solc-bridge.cjs``, which answers
   ``--version`` and ``--standard-json`` like the native binary: the package ``CCEI_SOLCJS`` names,
   else one in a ``node_modules`` of the working directory or a folder above it (a contract
   developer's own project), else this checkout's (pinned in ``package.json``).

When none is there, :class:`~ledger.errors.CompilerNotFound` says so in one line.

Installed from a wheel, the package carries the suite's sources, artifacts and the bridge in
``ledger/solidity/`` (see ``pyproject.toml``); in a checkout they are read from ``contracts/``.
Everything goes through py-solc-x's ``compile_standard``. Each artifact in ``contracts/build/``
records ABI, bytecode, deployed bytecode, compiler version and a hash over every input that can
change the output (all sources, the settings, the compiler version), so ``check_artifacts`` can
tell a stale artifact without running a compiler.

OpenZeppelin Contracts come from npm (pinned in ``package.json`` and its lock): an import of
``@openzeppelin/contracts/...`` is read from ``node_modules`` and handed to the compiler under that
name, with everything it imports in turn (:func:`library_sources`), so native solc and solc-js
compile the same input without remappings or an import callback. The artifacts' hash covers the
pinned OpenZeppelin version from ``package-lock.json``, so ``--check`` needs no ``node_modules``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import solcx
from solcx.exceptions import SolcError

from ledger.errors import CompilationFailed, CompilerNotFound, StaleArtifacts

__all__ = [
    "CONTRACTS_DIR",
    "BUILD_DIR",
    "EVM_VERSION",
    "SolcInfo",
    "find_solc",
    "find_solcjs",
    "node_modules_dirs",
    "SOLCJS_ENV",
    "source_files",
    "sources_hash",
    "compile_contracts",
    "write_artifacts",
    "check_artifacts",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where a wheel installs the suite's sources, artifacts and the solc-js bridge.
PACKAGED_CONTRACTS = Path(__file__).resolve().parent / "solidity"


def _contracts_dir() -> Path:
    if (PACKAGED_CONTRACTS / "build").is_dir():  # installed from a wheel
        return PACKAGED_CONTRACTS
    return REPO_ROOT / "contracts"


CONTRACTS_DIR = _contracts_dir()
BUILD_DIR = CONTRACTS_DIR / "build"
BRIDGE = CONTRACTS_DIR / "solc-bridge.cjs"
NODE_MODULES = REPO_ROOT / "node_modules"
PACKAGE_LOCK = REPO_ROOT / "package-lock.json"
#: Import prefixes read from ``node_modules`` (npm packages of Solidity sources).
LIBRARY_PREFIXES = ("@openzeppelin/contracts/",)
#: Environment variable naming the npm ``solc`` package (folder) to compile with.
SOLCJS_ENV = "CCEI_SOLCJS"

# py-evm in eth-tester 0.14 runs Prague; Cancun code runs there and on anvil's default hardfork.
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200
# Through the IR pipeline: a third fewer opcodes executed per settled trade than the legacy
# optimizer (measured on a 256-trade batch), hence less gas and faster batches on every back end.
VIA_IR = True
# The compiler version the committed artifacts are built with (pinned in package.json).
PINNED_SOLC = "0.8.30"


@dataclass(frozen=True, slots=True)
class SolcInfo:
    """A compiler found on this machine: its path, full version string and how it was found."""

    path: str
    version: str
    origin: str


def _version_of(path: str) -> str:
    try:
        return str(solcx.wrapper.get_version_str_from_solc_binary(path))
    except (OSError, SolcError, ValueError) as exc:
        raise CompilerNotFound(f"{path} does not answer like solc --version: {exc}") from exc


def find_solc() -> SolcInfo:
    """Finds a Solidity compiler (SOLC_BINARY, native solc, py-solc-x install, then solc-js).

    Returns:
        The compiler's path, version and origin.

    Raises:
        CompilerNotFound: when none of the candidates exists and answers ``--version``.
    """
    env = os.environ.get("SOLC_BINARY")
    if env:
        if not Path(env).is_file():
            raise CompilerNotFound(f"SOLC_BINARY={env} is not a file")
        return SolcInfo(env, _version_of(env), "SOLC_BINARY")
    native = shutil.which("solc")
    if native:
        return SolcInfo(native, _version_of(native), "PATH")
    try:
        installed = solcx.get_installed_solc_versions()
    except (OSError, SolcError):
        installed = []
    if installed:
        path = str(solcx.install.get_executable(installed[0]))
        return SolcInfo(path, _version_of(path), "py-solc-x")
    solc_js = find_solcjs()
    if solc_js is None:
        raise CompilerNotFound(
            "no Solidity compiler: put a native solc on PATH (or set SOLC_BINARY), or install solc-js "
            f"(`npm install solc@{PINNED_SOLC}` in your project, or set {SOLCJS_ENV} to its folder)"
        )
    if shutil.which("node") is None:
        raise CompilerNotFound(f"solc-js found at {solc_js}, but node is not on PATH to run it")
    return SolcInfo(str(BRIDGE), _version_of(str(BRIDGE)), f"solc-js ({solc_js})")


def node_modules_dirs(start: Path | None = None) -> list[Path]:
    """Every ``node_modules`` folder an import or a tool may come from, nearest first: in ``start``
    (default: the working directory) and each folder above it, then this checkout's, then the one
    a wheel ships with the suite's imports (OpenZeppelin's sources).

    The roots :func:`find_solcjs` looks in; also where npm-installed Solidity libraries are found.
    """
    start = (start or Path.cwd()).resolve()
    found = [d / "node_modules" for d in (start, *start.parents) if (d / "node_modules").is_dir()]
    for own in (REPO_ROOT / "node_modules", PACKAGED_CONTRACTS / "node_modules"):  # a checkout's; a wheel's
        if own.is_dir() and own not in found:
            found.append(own)
    return found


def find_solcjs(start: Path | None = None) -> Path | None:
    """The npm ``solc`` package to compile with: ``$CCEI_SOLCJS``, else the first in :func:`node_modules_dirs`.

    The bridge looks in the same places in the same order, so what is found here is what runs.
    """
    env = os.environ.get(SOLCJS_ENV)
    if env:
        return Path(env) if (Path(env) / "package.json").is_file() else None
    for modules in node_modules_dirs(start):
        if (modules / "solc" / "package.json").is_file():
            return modules / "solc"
    return None


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Path]:
    """Maps each Solidity source's name (relative to ``contracts_dir``) to its path."""
    return {p.relative_to(contracts_dir).as_posix(): p for p in sorted(contracts_dir.glob("*.sol"))}


_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*?\s+from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


def _resolve(unit: str, target: str) -> str:
    """The source unit name ``target`` denotes when imported from unit ``unit`` (solc's rule:
    ``./`` and ``../`` are relative to the importing unit, anything else is as written)."""
    if not target.startswith("."):
        return target
    parts = unit.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def library_sources(sources: dict[str, str], node_modules: Path = NODE_MODULES) -> dict[str, str]:
    """Every npm library source the given sources import, directly or not, by unit name.

    Args:
        sources: Source unit name -> Solidity text.
        node_modules: Where npm installed the libraries.

    Raises:
        CompilerNotFound: an imported library file is missing (``npm ci`` not run).
    """
    found: dict[str, str] = {}
    pending = [(unit, text) for unit, text in sources.items()]
    while pending:
        unit, text = pending.pop()
        for target in _IMPORT.findall(text):
            name = _resolve(unit, target)
            if name in found or name in sources or not name.startswith(LIBRARY_PREFIXES):
                continue
            path = node_modules / name
            if not path.is_file():
                raise CompilerNotFound(f"{unit} imports {name}, which is not in {node_modules}: run `npm ci`")
            found[name] = path.read_text()
            pending.append((name, found[name]))
    return found


def _library_versions(lock: Path = PACKAGE_LOCK) -> str:
    """The pinned versions of the Solidity libraries, from the npm lock file."""
    if not lock.is_file():
        return ""
    packages = json.loads(lock.read_text()).get("packages", {})
    pins = []
    for prefix in LIBRARY_PREFIXES:
        package = "node_modules/" + prefix.rstrip("/")
        pins.append(f"{prefix}{packages.get(package, {}).get('version', '')}")
    return ",".join(pins)


def _settings() -> dict:
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": VIA_IR,
        "metadata": {"bytecodeHash": "none", "appendCBOR": False},
        "outputSelection": {
            "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.gasEstimates"]}
        },
    }


def sources_hash(contracts_dir: Path = CONTRACTS_DIR, compiler_version: str = PINNED_SOLC) -> str:
    """SHA-256 over every source, the compiler settings and the compiler's base version."""
    h = hashlib.sha256()
    h.update(json.dumps(_settings(), sort_keys=True).encode())
    h.update(compiler_version.split("+", maxsplit=1)[0].encode())
    h.update(_library_versions().encode())
    for name, path in source_files(contracts_dir).items():
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR, solc: SolcInfo | None = None) -> dict[str, dict]:
    """Compiles every ``*.sol`` in ``contracts_dir`` and returns one artifact per contract.

    Raises:
        CompilerNotFound: no compiler.
        CompilationFailed: solc reported an error; the message carries solc's first error.
    """
    solc = solc or find_solc()
    own = {name: path.read_text() for name, path in source_files(contracts_dir).items()}
    sources = {name: {"content": text} for name, text in {**own, **library_sources(own)}.items()}
    standard_input = {"language": "Solidity", "sources": sources, "settings": _settings()}
    try:
        output = solcx.compile_standard(
            standard_input, solc_binary=solc.path, base_path=str(contracts_dir), allow_paths=str(contracts_dir)
        )
    except SolcError as exc:
        first = str(exc).strip().splitlines()
        raise CompilationFailed(f"solc failed: {first[0] if first else exc}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationFailed(errors[0].get("formattedMessage", str(errors[0])).strip().splitlines()[0])
    digest = sources_hash(contracts_dir, solc.version)
    artifacts: dict[str, dict] = {}
    for source, contracts in output["contracts"].items():
        if source not in own:  # library contracts are compiled into ours, not kept as artifacts
            continue
        for name, data in contracts.items():
            artifacts[name] = {
                "contractName": name,
                "sourceName": source,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "compiler": {"version": solc.version, "evmVersion": EVM_VERSION, "optimizerRuns": OPTIMIZER_RUNS, "viaIR": VIA_IR},
                "sourcesHash": digest,
            }
    return artifacts


def write_artifacts(artifacts: dict[str, dict], build_dir: Path = BUILD_DIR) -> list[Path]:
    """Writes each artifact to ``build_dir/<Name>.json`` and removes artifacts of vanished contracts."""
    build_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = build_dir / f"{name}.json"
        path.write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n")
        written.append(path)
    for old in build_dir.glob("*.json"):
        if old.stem not in artifacts:
            old.unlink()
    return written


def check_artifacts(contracts_dir: Path = CONTRACTS_DIR, build_dir: Path = BUILD_DIR) -> None:
    """Checks that every contract in the sources has a current artifact, without a compiler.

    Raises:
        StaleArtifacts: naming every missing, stale or orphaned artifact.
    """
    artifacts = {p.stem: json.loads(p.read_text()) for p in sorted(build_dir.glob("*.json"))}
    if not artifacts:
        raise StaleArtifacts(f"no artifacts in {build_dir}; run `ccei compile`")
    problems = []
    declared = _declared_contracts(contracts_dir)
    for name in sorted(declared - artifacts.keys()):
        problems.append(f"{name} (missing)")
    for name, artifact in artifacts.items():
        if name not in declared:
            problems.append(f"{name} (no longer in the sources)")
            continue
        expected = sources_hash(contracts_dir, artifact["compiler"]["version"])
        if artifact.get("sourcesHash") != expected:
            problems.append(f"{name} (stale)")
    if problems:
        raise StaleArtifacts("stale contract artifacts, run `ccei compile`: " + ", ".join(problems))


def _declared_contracts(contracts_dir: Path) -> set[str]:
    pattern = re.compile(r"^\s*(?:abstract\s+)?(?:contract|library|interface)\s+(\w+)", re.MULTILINE)
    names: set[str] = set()
    for path in source_files(contracts_dir).values():
        names.update(pattern.findall(path.read_text()))
    return names
