from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.frozen import FrozenConsole
from vmconsole.config import SimCluster


@pytest.fixture
def console_factory() -> Callable[..., FrozenConsole]:
    def make(nodes: int = 3, guests: int = 0, seed: int = 1, **app_kwargs: object
             ) -> FrozenConsole:
        return FrozenConsole(SimCluster(nodes=nodes, guests=guests, seed=seed), **app_kwargs)

    return make
