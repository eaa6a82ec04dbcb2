"""Invariant testing on a chain with hypothesis: a rule-based state machine whose every run starts
from the same chain state and leaves nothing behind.

Foundry's invariant runs and Brownie's ``state_machine()`` reset the chain between runs; this does
the same with a snapshot: a :class:`ChainStateMachine` takes one when a run starts and reverts to
it when the run ends, so runs and examples never see each other's transactions.

Example::

    class Escrow(ChainStateMachine):
        @rule(amount=st.integers(1, 10**6))
        def deposit(self, amount): ...

        @invariant()
        def conserved(self): ...

    def test_escrow(ccei_session):
        Escrow.run(ccei_session, max_examples=20)

Requires hypothesis (a development dependency), which this module imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

if TYPE_CHECKING:
    from ledger.chain import Chain
    from ledger.pytest_plugin import CceiAccounts, CceiSession
    from ledger.suite import Suite

__all__ = ["ChainStateMachine", "CHAIN_SETTINGS"]

#: Settings for chain tests: no deadline (a chain call's time varies a lot), slow examples allowed.
CHAIN_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


class ChainStateMachine(RuleBasedStateMachine):
    """Base of rule-based invariant tests over the ``ccei_session`` chain, isolated per run.

    Subclasses write rules and invariants against :attr:`chain`, :attr:`suite` and
    :attr:`accounts`, and run with ``MyMachine.run(ccei_session)``.
    """

    session: ClassVar[CceiSession]

    def __init__(self) -> None:
        super().__init__()
        self._isolation = self.session.isolated()
        self._isolation.__enter__()

    def teardown(self) -> None:
        self._isolation.__exit__(None, None, None)

    @property
    def chain(self) -> Chain:
        return self.session.chain

    @property
    def suite(self) -> Suite:
        return self.session.suite

    @property
    def accounts(self) -> CceiAccounts:
        return self.session.accounts

    @classmethod
    def run(cls, session: CceiSession, run_settings: settings | None = None, **overrides: Any) -> None:
        """Runs the machine on ``session``'s chain (hypothesis explores, then shrinks any failure).

        Args:
            session: The ``ccei_session`` fixture.
            run_settings: hypothesis ``settings`` (default :data:`CHAIN_SETTINGS`).
            **overrides: Settings changed from those, e.g. ``max_examples=5, stateful_step_count=6``.
        """
        bound = type(cls.__name__, (cls,), {"session": session, "__module__": cls.__module__})
        run_state_machine_as_test(bound, settings=settings(run_settings or CHAIN_SETTINGS, **overrides))
