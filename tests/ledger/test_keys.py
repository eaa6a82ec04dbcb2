"""Keys derive from the seed and a lab secret kept outside every log and run folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from ledger import keys
from ledger.keys import (
    SECRET_ENV,
    LabSecretError,
    agent_address,
    agent_private_key,
    agent_signing_key,
    lab_secret,
    operator_address,
    operator_private_key,
    secret_file,
)


@pytest.fixture()
def no_env_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``CCEI_LAB_SECRET``; the configuration folder is a fresh temporary one."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(keys, "_file_secrets", {})
    return tmp_path / "config" / "ccei" / "lab-secret"


def test_the_suite_runs_under_the_fixed_test_secret() -> None:
    assert lab_secret() == b"ccei-test-lab-secret"


def test_keys_depend_on_secret_seed_and_agent() -> None:
    a, b = b"secret-a", b"secret-b"
    assert agent_private_key(1, 2, a) == agent_private_key(1, 2, a)
    assert len({agent_private_key(1, 2, a), agent_private_key(1, 2, b), agent_private_key(2, 2, a), agent_private_key(1, 3, a)}) == 4
    assert agent_signing_key(1, 2, a).secret == agent_private_key(1, 2, a).to_bytes()
    assert agent_address(1, 2, a) == Account.from_key(agent_private_key(1, 2, a).to_bytes()).address
    assert agent_address(1, 2) == agent_address(1, 2, b"ccei-test-lab-secret")


def test_the_operator_is_one_identity_per_secret_and_no_agent() -> None:
    assert operator_address(b"s") == operator_address(b"s") != operator_address(b"t")
    assert operator_address(b"s") == Account.from_key(operator_private_key(b"s").to_bytes()).address
    assert operator_address(b"s") not in {agent_address(seed, agent, b"s") for seed in range(3) for agent in range(10)}


def test_keys_without_the_secret_are_not_the_old_seed_only_keys() -> None:
    """A forger who knows the seed (it is in the header) cannot rebuild the key."""
    from eth_utils import keccak

    old = keccak(b"ccei-agent-key" + (1).to_bytes(32, "big") + (2).to_bytes(32, "big") + (0).to_bytes(4, "big"))
    assert agent_private_key(1, 2).to_bytes() != old


def test_seeds_and_ids_beyond_a_word_are_refused() -> None:
    with pytest.raises(keys.LedgerError, match=r"must lie in 0 \.\. 2\*\*256 - 1"):
        agent_private_key(2**300, 1, b"s")
    with pytest.raises(keys.LedgerError, match="must lie in"):
        agent_private_key(1, -1, b"s")


def test_the_key_file_is_created_once_with_mode_0600(no_env_secret: Path) -> None:
    assert secret_file() == no_env_secret
    first = lab_secret()
    assert no_env_secret.is_file() and stat.S_IMODE(no_env_secret.stat().st_mode) == 0o600
    assert len(first) == 64 and first == no_env_secret.read_text().strip().encode()
    keys._file_secrets.clear()
    assert lab_secret() == first  # read back, not re-made


def test_the_environment_wins_over_the_key_file(no_env_secret: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "from-env")
    assert lab_secret() == b"from-env"
    assert not no_env_secret.exists()  # never created while the variable is set


def test_an_empty_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, " ")
    with pytest.raises(LabSecretError, match="CCEI_LAB_SECRET is set but empty"):
        lab_secret()


def test_a_key_file_others_can_read_is_refused(no_env_secret: Path) -> None:
    no_env_secret.parent.mkdir(parents=True)
    no_env_secret.write_text("abc\n")
    os.chmod(no_env_secret, 0o644)
    with pytest.raises(LabSecretError, match=r"readable by others \(mode 0644\); run chmod 600"):
        lab_secret()
    assert no_env_secret.read_text() == "abc\n"  # left as it was


def test_an_empty_key_file_is_refused(no_env_secret: Path) -> None:
    no_env_secret.parent.mkdir(parents=True)
    no_env_secret.write_text("")
    os.chmod(no_env_secret, 0o600)
    with pytest.raises(LabSecretError, match="lab secret file is empty"):
        lab_secret()


def test_an_unwritable_configuration_folder_is_one_error(no_env_secret: Path) -> None:
    no_env_secret.parent.parent.mkdir(parents=True)
    no_env_secret.parent.parent.joinpath("ccei").write_text("a file where the folder should be")
    with pytest.raises(LabSecretError, match="cannot create the lab secret"):
        lab_secret()
