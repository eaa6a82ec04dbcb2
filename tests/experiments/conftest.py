"""Fixtures for the sweep and report tests: a model that a treatment can make fail at run time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agents import MODELS, PostedPriceModel


class ExplodingModel(PostedPriceModel):
    """The posted-price market, except that ``explode=true`` makes building it fail, as a model
    rejecting a parameter value only it can judge would: the scenario checks pass, the run fails."""

    def __init__(self, n_users: int = 3, explode: bool = False, seed: int | None = None, settler: Any = None) -> None:
        if explode:
            raise ValueError(f"cannot run with {n_users} exploding users")
        super().__init__(n_users=n_users, seed=seed, settler=settler)


@pytest.fixture(scope="module")
def exploding(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scenario file (3 steps) of :class:`ExplodingModel`, registered as model ``exploding``.

    The registration lives in this process only, so sweeps of it run with ``workers=0``.
    """
    path = tmp_path_factory.mktemp("exploding") / "exploding.toml"
    path.write_text('model = "exploding"\nsteps = 3\n[params]\nn_users = 3\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(MODELS, "exploding", ExplodingModel)
        yield str(path)
