from __future__ import annotations

from collections.abc import Callable

import pytest

from vmconsole.config import SimCluster
from vmconsole.ui.frozen import FrozenConsole


@pytest.fixture
def console_factory() -> Callable[..., FrozenConsole]:
    def make(nodes: int = 3, guests: int = 0, seed: int = 1, **app_kwargs: object
             ) -> FrozenConsole:
        return FrozenConsole(SimCluster(nodes=nodes, guests=guests, seed=seed), **app_kwargs)

    return make
