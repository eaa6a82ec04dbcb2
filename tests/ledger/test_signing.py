"""EIP-712 order hashing and signing agree with eth-account byte for byte; recovery mirrors ecrecover."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.keys import agent_address, agent_private_key, agent_signing_key
from ledger.signing import (
    DEFAULT_TTL_ROUNDS,
    ROUND_SECONDS,
    SECP256K1_N,
    SIM_EPOCH,
    ZERO_ADDRESS,
    OrderDomain,
    SettlementOrder,
    Signature,
    malleable_twin,
    order_digest,
    order_expiry,
    recover_signer,
    round_time,
    sign_order,
    typed_data,
)

U64 = st.integers(0, 2**64 - 1)
DOMAIN = OrderDomain(131_277_322_940_537, agent_address(9, 9))


@settings(max_examples=25)
@given(
    agent=st.integers(0, 10_000),
    order_id=U64,
    resource=st.integers(0, 2),
    limit=U64,
    quantity=U64,
    expiry=U64,
    chain_id=st.integers(1, 2**40),
)
def test_digest_and_signature_equal_eth_account_typed_data_signing(
    agent: int, order_id: int, resource: int, limit: int, quantity: int, expiry: int, chain_id: int
) -> None:
    domain = OrderDomain(chain_id, agent_address(1, agent + 1))
    order = SettlementOrder(agent_address(1, agent), order_id, 0, resource, limit, quantity, expiry)
    signable = encode_typed_data(full_message=typed_data(domain, order))
    from eth_utils import keccak

    assert order_digest(domain, order) == keccak(b"\x19" + signable.version + signable.header + signable.body)
    reference = Account.sign_typed_data(agent_private_key(1, agent).to_bytes(), full_message=typed_data(domain, order))
    signed = sign_order(agent_signing_key(1, agent), domain, order)
    assert signed.signature.to_bytes() == bytes(reference.signature)
    assert signed.signature.is_low_s
    assert recover_signer(domain, order, signed.signature) == order.owner


def test_signing_is_deterministic_and_domain_bound() -> None:
    order = SettlementOrder(agent_address(1, 2), 5, 0, 0, 420, 1_500, order_expiry(3))
    key = agent_signing_key(1, 2)
    assert sign_order(key, DOMAIN, order) == sign_order(key, DOMAIN, order)
    other_chain = OrderDomain(DOMAIN.chain_id + 1, DOMAIN.verifying_contract)
    assert sign_order(key, other_chain, order).signature != sign_order(key, DOMAIN, order).signature
    signature = sign_order(key, DOMAIN, order).signature
    assert recover_signer(other_chain, order, signature) != order.owner


def test_malleable_twin_recovers_the_same_signer_but_is_high_s() -> None:
    order = SettlementOrder(agent_address(1, 2), 5, 0, 0, 420, 1_500, order_expiry(3))
    signature = sign_order(agent_signing_key(1, 2), DOMAIN, order).signature
    twin = malleable_twin(signature)
    assert not twin.is_low_s and twin.v != signature.v
    assert recover_signer(DOMAIN, order, twin) == order.owner


@pytest.mark.parametrize(
    "signature",
    [Signature(29, 1, 1), Signature(27, 0, 1), Signature(27, 1, 0), Signature(27, SECP256K1_N, 1), Signature(27, 1, SECP256K1_N)],
)
def test_out_of_range_signatures_recover_the_zero_address(signature: Signature) -> None:
    order = SettlementOrder(agent_address(1, 2), 5, 0, 0, 420, 1_500, 0)
    assert recover_signer(DOMAIN, order, signature) == ZERO_ADDRESS


def test_a_point_that_does_not_recover_gives_the_zero_address() -> None:
    order = SettlementOrder(agent_address(1, 2), 5, 0, 0, 420, 1_500, 0)
    # r = 5 is no x-coordinate of a curve point
    assert recover_signer(DOMAIN, order, Signature(27, 5, 1)) == ZERO_ADDRESS


def test_signature_bytes_round_trip() -> None:
    signature = sign_order(agent_signing_key(1, 2), DOMAIN, SettlementOrder(agent_address(1, 2), 1, 0, 0, 1, 1, 1)).signature
    raw = signature.to_bytes()
    assert len(raw) == 65 and Signature.from_bytes(raw) == signature
    assert Signature.from_bytes(raw[:64] + bytes([raw[64] - 27])) == signature
    with pytest.raises(ValueError, match="65 bytes, got 64"):
        Signature.from_bytes(raw[:64])


def test_expiry_is_derived_from_the_round_not_the_clock() -> None:
    assert round_time(0) == SIM_EPOCH == 1_893_456_000  # 2030-01-01T00:00:00Z
    assert round_time(5) == SIM_EPOCH + 5 * ROUND_SECONDS
    assert order_expiry(5) == round_time(5 + DEFAULT_TTL_ROUNDS)
    assert order_expiry(5, ttl_rounds=1) == round_time(6)


def test_keys_are_deterministic_per_seed_and_agent() -> None:
    assert agent_private_key(1, 2) == agent_private_key(1, 2)
    assert agent_private_key(1, 2) != agent_private_key(2, 2) != agent_private_key(1, 3)
    assert agent_signing_key(1, 2).secret == agent_private_key(1, 2).to_bytes()
    assert agent_address(1, 2) == Account.from_key(agent_private_key(1, 2).to_bytes()).address
