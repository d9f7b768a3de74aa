"""pytest side of the protocol machines: the ``--mjit-replay`` option and the
``mjit_machine_config`` fixture.  Registered by ``pytest_mjit.plugin`` (``pytest_plugins``)."""

from __future__ import annotations

import os

import pytest

from .._errors import MjitError
from ._rig import RigConfig
from ._runner import parse_replay

__all__ = ["replay_value", "mjit_machine_config", "REPLAY_ENV"]

REPLAY_ENV = "PYTEST_MJIT_REPLAY"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mjit", "MJIT engine conformance")
    group.addoption("--mjit-replay", dest="mjit_replay", default=None, metavar="VERSION:BLOB",
                    help="replay one protocol-machine failure as its report printed it "
                         f"[env {REPLAY_ENV}]")


def replay_value(config: pytest.Config) -> str | None:
    """The ``--mjit-replay`` value (command line, else environment), checked; or None."""
    value = config.getoption("mjit_replay", None) or os.environ.get(REPLAY_ENV) or None
    if value is not None:
        try:
            parse_replay(value)
        except MjitError as exc:
            raise pytest.UsageError(str(exc)) from None
    return value


@pytest.fixture
def mjit_machine_config(request: pytest.FixtureRequest, tmp_path) -> RigConfig:
    """What a protocol machine needs to start the run's engine once per example."""
    from .._fixtures import session_of
    return RigConfig.from_session(session_of(request.config), tmp_path)
