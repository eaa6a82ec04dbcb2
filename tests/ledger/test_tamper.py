"""Every tampering the integrity review tried is refused, naming the line whose check fails.

The forger here is as strong as one holding only the log can be: after an edit it fixes every
batch's and the close's totals, recomputes the close's balances digest by replaying the forged
lines, and re-chains every hash. What still catches the edit is what the lines mean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.cli import main
from experiments.run import run
from experiments.scenarios import load_scenario
from ledger.keys import agent_private_key, operator_address, operator_private_key
from ledger.logsigning import line_tree, sign_entry
from ledger.replay import replay
from ledger.tradelog import GENESIS, LogTampered, LogTruncated, canonical, entry_hash


@pytest.fixture(scope="module")
def signed_log(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """A format-3 log: signed by this lab's operator."""
    out = tmp_path_factory.mktemp("genuine")
    run(load_scenario("posted-price"), out=out, seed=3, steps=6, chain="memory")
    return [json.loads(raw) for raw in (out / "trades.jsonl").read_text().splitlines()]


SEAL_FIELDS = ("operator", "operator_signature", "lines", "lines_root", "tree_size", "tree_root", "domain")


@pytest.fixture(scope="module")
def genuine(signed_log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same log stripped of the operator's signatures (format 2): what the meaning checks alone
    must hold against, as a forger may always strip the signatures (it then verifies only as
    consistent but unauthenticated)."""
    plain = [{k: v for k, v in e.items() if k not in SEAL_FIELDS} for e in signed_log]
    plain[0]["format"] = 2
    return plain


def chained(entries: list[dict[str, Any]]) -> str:
    out, prev = [], GENESIS
    for seq, original in enumerate(entries):
        entry = {k: v for k, v in original.items() if k != "hash"}
        entry.update(seq=seq, prev=prev)
        entry["hash"] = prev = entry_hash(entry)
        out.append(canonical(entry).decode() + "\n")
    return "".join(out)


def resealed(entries: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    """``entries`` with every signed root recomputed and, with ``key``, re-signed by it (the
    header then names its address as the operator); without, the old signatures stay."""
    out, prev, tree, segment = [], GENESIS, line_tree(), line_tree()
    for seq, original in enumerate(entries):
        entry = {k: v for k, v in original.items() if k != "hash"}
        entry.update(seq=seq, prev=prev)
        if entry["kind"] == "batch":
            entry.update(lines=segment.size, lines_root=segment.root().hex())
        elif entry["kind"] == "close":
            entry.update(tree_size=tree.size, tree_root=tree.root().hex())
        if key is not None and entry["kind"] in ("header", "batch", "close"):
            if entry["kind"] == "header":
                entry["operator"] = key.public_key.to_checksum_address()
            sign_entry(entry, key)
        entry["hash"] = prev = entry_hash(entry)
        raw = bytes.fromhex(prev)
        tree.append(raw)
        if entry["kind"] == "batch":
            segment = line_tree()
        elif entry["kind"] != "header":
            segment.append(raw)
        out.append(entry)
    return out


def forge(entries: list[dict[str, Any]], path: Path, key: Any = None) -> Path:
    """Fixes batch and close totals and the balances digest after an edit, and re-chains it all
    (a signed log: recomputes its roots too, re-signing them only with ``key``, the forger's own)."""
    entries = [dict(e) for e in entries]
    trades = volume = batch_trades = batch_volume = supply = payments = paid = batch_payments = batch_paid = 0
    for entry in entries:
        if entry["kind"] == "deposit":
            supply += entry["amount"] + entry.get("wallet", 0)
        elif entry["kind"] == "trade":
            batch_trades += 1
            batch_volume += entry["price"] * entry["quantity"]
        elif entry["kind"] == "payment":
            batch_payments += 1
            batch_paid += entry["amount"]
        elif entry["kind"] == "batch":
            entry.update(trades=batch_trades, volume=batch_volume)
            if "payments" in entry or batch_payments:
                entry.update(payments=batch_payments, paid=batch_paid)
            trades, volume, batch_trades, batch_volume = trades + batch_trades, volume + batch_volume, 0, 0
            payments, paid, batch_payments, batch_paid = payments + batch_payments, paid + batch_paid, 0, 0
        elif entry["kind"] == "close":
            entry.update(trades=trades, volume=volume, total_supply=supply)
            if "payments" in entry or payments:
                entry.update(payments=payments, paid=paid)
    sealed = entries[0].get("format") == 3
    close = next((i for i, e in enumerate(entries) if e["kind"] == "close"), None)
    if close is not None:
        plain = [{k: v for k, v in e.items() if k not in SEAL_FIELDS} for e in entries]
        plain[0]["format"] = 2
        path.write_text(chained(plain))
        try:
            entries[close]["balances_digest"] = replay(path, until=close - 1).balances_digest
        except LogTampered:
            pass
    path.write_text(chained(resealed(entries, key) if sealed else entries))
    return path


def index(entries: list[dict[str, Any]], kind: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(entries) if e["kind"] == kind][nth]


def refused(path: Path, line: int, field: str, match: str | None = None) -> LogTampered:
    with pytest.raises(LogTampered, match=match) as info:
        replay(path)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    return info.value


def test_the_forger_itself_leaves_a_genuine_log_verified(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    path = forge(genuine, tmp_path / "t.jsonl")
    assert path.read_text() == chained(genuine)
    assert replay(path).verified


@pytest.mark.parametrize(
    "extra",
    [
        {"kind": "note", "step": 6, "text": "an unknown kind"},
        "last trade",
        "second close",
    ],
    ids=["unknown-kind", "copied-trade", "second-close"],
)
def test_a_line_after_the_close_is_refused(genuine: list[dict[str, Any]], tmp_path: Path, extra: Any) -> None:
    added = extra if isinstance(extra, dict) else {"last trade": genuine[index(genuine, "trade", -1)], "second close": genuine[-1]}[extra]
    path = tmp_path / "t.jsonl"
    path.write_text(chained([*genuine, dict(added)]))
    refused(path, len(genuine) + 1, "kind", "after the close line")


def test_the_cli_refuses_appended_lines_in_replay_show_and_export(
    genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained([*genuine, dict(genuine[index(genuine, "trade", -1)])]))
    for argv in (
        ["replay", str(path)],
        ["log", "show", str(path)],
        ["log", "export", str(path), "--csv", str(tmp_path / "o.csv"), "--kind", "trade"],
    ):
        assert main(argv) == 4
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"t.jsonl:{len(genuine) + 1}:" in err and "after the close line" in err
    assert not (tmp_path / "o.csv").exists()


def test_an_unknown_kind_inside_the_log_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "batch")
    refused(
        forge([*genuine[:i], {"kind": "memo", "step": genuine[i]["step"]}, *genuine[i:]], tmp_path / "t.jsonl"), i + 1, "kind", "no kind of log line"
    )


def edit(entries: list[dict[str, Any]], i: int, **changes: Any) -> list[dict[str, Any]]:
    out = [dict(e) for e in entries]
    out[i].update(changes)
    return out


def test_a_trade_price_below_the_sell_limit_is_refused_at_the_trade(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, price=genuine[i]["price"] - 1), tmp_path / "t.jsonl"), i + 1, "price", "outside the orders' limits")


def test_a_sell_limit_raised_above_the_trade_price_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    t = index(genuine, "trade")
    sell = next(i for i, e in enumerate(genuine) if e["kind"] == "order" and e["order_id"] == genuine[t]["sell_order"])
    forged = forge(edit(genuine, sell, limit_price=genuine[t]["price"] + 1), tmp_path / "t.jsonl")
    if genuine[0].get("signed", True):  # the seller signed the ask: its authorization no longer matches
        ask = next(i for i, e in enumerate(genuine) if e["kind"] == "authorization" and e["order_id"] == genuine[t]["sell_order"])
        refused(forged, ask + 1, "signature")
    else:
        refused(forged, t + 1, "price")


def test_a_changed_seller_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, seller=genuine[i]["seller"] + 1), tmp_path / "t.jsonl"), i + 1, "seller", "not the owner of the sell order")


def test_a_relabelled_resource_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    other = "energy" if genuine[i]["resource"] != "energy" else "compute"
    refused(forge(edit(genuine, i, resource=other), tmp_path / "t.jsonl"), i + 1, "resource")


def test_a_trade_moved_three_steps_on_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, step=genuine[i]["step"] + 3), tmp_path / "t.jsonl"), i + 2, "step", "rounds are out of order")


def test_a_deposit_from_nothing_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "deposit")
    forged = edit(genuine, i, amount=genuine[i]["amount"] + 10**12)
    path = forge(forged, tmp_path / "t.jsonl")
    # the forger fixed the close's supply to the deposits' sum, so the supply adds up: what the
    # deposit line cannot forge is the money: only a signed head (format 3) ties it to the operator
    assert json.loads(path.read_text().splitlines()[-1])["total_supply"] == sum(e["amount"] for e in forged if e["kind"] == "deposit")
    unforged = tmp_path / "u.jsonl"
    unforged.write_text(chained(forged))
    refused(unforged, len(genuine), "total_supply", "add up to")


def test_changed_close_totals_are_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    for name in ("trades", "volume", "total_supply"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text(chained(edit(genuine, len(genuine) - 1, **{name: genuine[-1][name] + 1})))
        refused(path, len(genuine), name, "add up to")


def test_a_trade_no_batch_settles_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    b = index(genuine, "batch", -1)
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:b] + genuine[b + 1 :]))
    first_trade = next(i for i in range(b - 1, 0, -1) if genuine[i - 1]["kind"] != "trade" and genuine[i]["kind"] == "trade")
    refused(path, first_trade + 1, "kind", "no batch line settles")


def test_truncation_names_the_last_good_line(genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine)[: -len(json.dumps(genuine[-1])) // 2])  # the close line torn
    with pytest.raises(LogTruncated) as info:
        replay(path)
    assert info.value.line == len(genuine) - 1
    assert main(["replay", str(path)]) == 4
    err = capsys.readouterr().err
    assert f"t.jsonl:{len(genuine) - 1}: the log ends after this line" in err


def test_until_beyond_the_end_of_a_truncated_log_is_not_success(
    genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:-1]))
    assert main(["replay", str(path), "--until", "999999"]) == 4
    assert "without a close line" in capsys.readouterr().err
    assert main(["replay", str(path), "--until", "5"]) == 0  # the lines asked for are there


def test_show_and_export_refuse_a_truncated_log_unless_told(
    genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:-1]))
    out = tmp_path / "o.csv"
    assert main(["log", "export", str(path), "--csv", str(out)]) == 4
    assert not out.exists()
    assert main(["log", "show", str(path)]) == 4
    capsys.readouterr()
    assert main(["log", "export", str(path), "--csv", str(out), "--unverified"]) == 0
    assert out.read_text().count("\n") == len(genuine) - 1  # a header row and every event but the header
    assert main(["log", "show", str(path), "--unverified"]) == 0


# --- the signed log (format 3): what only the operator's signatures catch -----------------------

OPERATOR = operator_address()


def test_the_signed_log_verifies_against_its_operator_and_no_other(
    signed_log: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(signed_log))
    assert path.read_text() == "".join(canonical(e).decode() + "\n" for e in signed_log)  # chained() is faithful
    result = replay(path, operator=OPERATOR)
    assert result.verified and result.authenticated and result.operator == OPERATOR
    assert not replay(path).authenticated  # consistent, but nobody was asked for
    with pytest.raises(LogTampered, match="not by the operator") as info:
        replay(path, operator=operator_address(b"another lab"))
    assert (info.value.line, info.value.field) == (1, "operator")
    assert main(["replay", str(path), "--operator", OPERATOR]) == 0
    assert main(["replay", str(path)]) == 0  # the local secret's operator
    assert main(["replay", str(path), "--operator", operator_address(b"another lab")]) == 4
    capsys.readouterr()


def test_without_any_operator_the_log_is_consistent_but_unauthenticated(
    signed_log: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(signed_log))
    monkeypatch.delenv("CCEI_LAB_SECRET")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    assert main(["replay", str(path)]) == 5
    assert "consistent but unauthenticated" in capsys.readouterr().out
    assert not (tmp_path / "no-config").exists()  # checking never creates a key file


def test_a_stripped_signature_downgrades_to_unauthenticated(
    genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine))
    assert main(["replay", str(path), "--operator", OPERATOR]) == 5
    assert "a log without operator signatures" in capsys.readouterr().out


def sealed_edit(signed_log: list[dict[str, Any]], kind: str, **changes: Any) -> tuple[list[dict[str, Any]], int]:
    i = index(signed_log, kind)
    return edit(signed_log, i, **changes), i


@pytest.mark.parametrize(
    "change",
    ["price+1", "deposit", "deleted-trade", "swapped-trades", "quantity"],
)
def test_re_chained_edits_are_refused_at_their_batch_naming_its_lines(signed_log: list[dict[str, Any]], tmp_path: Path, change: str) -> None:
    t = index(signed_log, "trade")
    entries = [dict(e) for e in signed_log]
    if change == "price+1":
        entries[t]["price"] += 1
    elif change == "deposit":
        entries[index(entries, "deposit")]["amount"] += 10**12
    elif change == "deleted-trade":
        del entries[t]
    elif change == "swapped-trades":
        entries[t], entries[t + 1] = entries[t + 1], entries[t]
    elif change == "quantity":
        entries[t]["quantity"] = 1
    path = forge(entries, tmp_path / "t.jsonl")
    batch = index(entries, "batch") + 1
    with pytest.raises(LogTampered, match=f"over this batch \\(lines 2-{batch - 1}\\)") as info:
        replay(path, operator=OPERATOR)
    assert (info.value.line, info.value.field) == (batch, "operator_signature")
    stale = tmp_path / "stale.jsonl"
    stale.write_text(chained(entries))  # the roots not even recomputed: the root itself names the lines
    with pytest.raises(LogTampered, match=f"does not cover lines 2-{batch - 1}") as info:
        replay(stale, operator=OPERATOR)
    assert (info.value.line, info.value.field) == (batch, "lines_root")


def test_changed_header_params_are_refused_at_the_header(signed_log: list[dict[str, Any]], tmp_path: Path) -> None:
    entries = edit(signed_log, 0, params={**signed_log[0]["params"], "surge": 0.9})
    with pytest.raises(LogTampered, match="over this header") as info:
        replay(forge(entries, tmp_path / "t.jsonl"), operator=OPERATOR)
    assert (info.value.line, info.value.field) == (1, "operator_signature")


def test_changed_close_totals_are_refused_at_the_signed_head(signed_log: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(edit(signed_log, len(signed_log) - 1, balances_digest="0" * 64)))
    with pytest.raises(LogTampered, match="over this tree head") as info:
        replay(path, operator=OPERATOR)
    assert (info.value.line, info.value.field) == (len(signed_log), "operator_signature")


def test_a_log_re_signed_by_a_forger_names_the_forger(signed_log: list[dict[str, Any]], tmp_path: Path) -> None:
    t = index(signed_log, "trade")
    entries = edit(signed_log, t, price=signed_log[t]["price"] + 1)
    forger = operator_private_key(b"the forger's own secret")
    path = forge(entries, tmp_path / "t.jsonl", key=forger)
    assert replay(path).verified and not replay(path).authenticated  # consistent: the forger signed it
    with pytest.raises(LogTampered, match=f"signed by {forger.public_key.to_checksum_address()}, not by the operator {OPERATOR}"):
        replay(path, operator=OPERATOR)


def test_an_order_re_signed_with_the_seed_derived_key_is_refused(signed_log: list[dict[str, Any]], tmp_path: Path) -> None:
    """The keys of old, ``keccak(domain || seed || agent)``, which anyone with the log could rebuild."""
    from eth_keys import keys as eth_keys
    from eth_utils import keccak

    from ledger.signing import RESOURCE_CODES, SIDE_CODES, OrderDomain, SettlementOrder, sign_order

    i = index(signed_log, "authorization")
    auth = signed_log[i]
    order = next(e for e in signed_log if e["kind"] == "order" and e["order_id"] == auth["order_id"])
    seed = signed_log[0]["seed"]
    old_key = eth_keys.PrivateKey(keccak(b"ccei-agent-key" + seed.to_bytes(32, "big") + order["owner"].to_bytes(32, "big") + bytes(4)))
    import coincurve

    domain = OrderDomain(signed_log[0]["domain"]["chain_id"], signed_log[0]["domain"]["verifying_contract"])
    message = SettlementOrder(
        auth["address"],
        order["order_id"],
        SIDE_CODES[order["side"]],
        RESOURCE_CODES[order["resource"]],
        order["limit_price"],
        order["quantity"],
        auth["expiry"],
    )
    forged = sign_order(coincurve.PrivateKey(old_key.to_bytes()), domain, message).signature
    entries = edit(signed_log, i, signature="0x" + forged.to_bytes().hex())
    with pytest.raises(LogTampered, match="was not made by") as info:
        replay(forge(entries, tmp_path / "t.jsonl"), operator=OPERATOR)
    assert (info.value.line, info.value.field) == (i + 1, "signature")
    assert agent_private_key(seed, order["owner"]).to_bytes() != old_key.to_bytes()


def test_a_signed_log_verifies_on_the_embedded_chain_and_a_moved_domain_is_caught_at_the_first_order(
    signed_log: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(signed_log))
    assert replay(path, "eth-tester", operator=OPERATOR).authenticated
    other = edit(signed_log, 0, domain={**signed_log[0]["domain"], "chain_id": 31337})
    moved = forge(other, tmp_path / "moved.jsonl", key=operator_private_key())  # the operator's header, the orders signed for another chain
    first = next(i for i, e in enumerate(other) if e["kind"] == "authorization") + 1
    for chain in ("memory", "eth-tester"):  # eth-tester now starts on the header's chain id: the orders' signatures fail
        with pytest.raises(LogTampered) as info:
            replay(moved, chain, operator=OPERATOR)
        assert (info.value.line, info.value.field) == (first, "signature")


@pytest.fixture(scope="module")
def paying(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """A microgrids log, whose Nash splits settle as signed payments, stripped of the operator's
    signatures as ``genuine`` is (the meaning checks alone must catch these edits)."""
    out = tmp_path_factory.mktemp("paying")
    run(load_scenario("microgrids"), out=out, seed=3, steps=3, chain="memory")
    plain = [{k: v for k, v in json.loads(raw).items() if k not in SEAL_FIELDS} for raw in (out / "trades.jsonl").read_text().splitlines()]
    plain[0]["format"] = 2
    return plain


def test_the_forged_payment_log_itself_verifies(paying: list[dict[str, Any]], tmp_path: Path) -> None:
    assert any(e["kind"] == "payment" for e in paying)
    assert replay(forge(paying, tmp_path / "t.jsonl")).verified


@pytest.mark.parametrize("field", ["amount", "payee", "memo", "signature"])
def test_an_edited_payment_is_refused_at_its_line(paying: list[dict[str, Any]], tmp_path: Path, field: str) -> None:
    """The payer signed the payment (EIP-712): any change to it, or to the signature, breaks that."""
    i = index(paying, "payment")
    payment = paying[i]
    other = next(e["agent"] for e in paying if e["kind"] == "deposit" and e["agent"] not in (payment["payer"], payment["payee"]))
    value = {"amount": 1, "payee": other, "memo": "another day", "signature": "0x00"}[field]
    refused(forge(edit(paying, i, **{field: value}), tmp_path / "t.jsonl"), i + 1, "signature")


def test_a_payment_to_its_own_payer_is_refused(paying: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(paying, "payment")
    refused(forge(edit(paying, i, payee=paying[i]["payer"]), tmp_path / "t.jsonl"), i + 1, "payee", "its own payer")


def test_a_payment_no_batch_settles_is_refused(paying: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(paying, "payment")
    batch = next(j for j in range(i, len(paying)) if paying[j]["kind"] == "batch")
    moved = [e for j, e in enumerate(paying) if j != i]
    moved.insert(batch, {**paying[i], "step": paying[batch]["step"]})  # after its batch: settled by none
    refused(forge(moved, tmp_path / "t.jsonl"), batch + 1, "kind", "no batch line settles")


@pytest.fixture(scope="module")
def signed_paying(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("signed-paying")
    run(load_scenario("microgrids"), out=out, seed=3, steps=3, chain="memory")
    return [json.loads(raw) for raw in (out / "trades.jsonl").read_text().splitlines()]


def test_a_deleted_payment_is_refused_at_its_batch_by_the_operators_root(signed_paying: list[dict[str, Any]], tmp_path: Path) -> None:
    """Dropping a payment (the payee forging its own loss away) keeps every line consistent: the
    operator's signature over the batch's lines is what refuses it."""
    i = index(signed_paying, "payment")
    entries = [e for j, e in enumerate(signed_paying) if j != i]
    batch = next(j for j in range(i, len(entries)) if entries[j]["kind"] == "batch") + 1
    with pytest.raises(LogTampered, match="over this batch") as info:
        replay(forge(entries, tmp_path / "t.jsonl"), operator=OPERATOR)
    assert (info.value.line, info.value.field) == (batch, "operator_signature")


def test_a_deposit_after_trading_began_is_refused_in_a_log_no_operator_signs(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    entries = [dict(e) for e in genuine]
    last = max(i for i, e in enumerate(entries) if e["kind"] == "deposit")
    moved = entries.pop(last)
    at = index(entries, "order") + 1
    entries.insert(at, moved)
    refused(forge(entries, tmp_path / "t.jsonl"), at + 1, "kind", "a deposit after trading began")
