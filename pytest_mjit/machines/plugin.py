"""pytest side of the protocol machines: the ``--mjit-replay`` option and the
``mjit_machine_config`` fixture.  Registered by ``pytest_mjit.plugin`` (``pytest_plugins``)."""

from __future__ import annotations

import os

import pytest

import hypothesis
from hypothesis.core import decode_failure
from hypothesis.errors import InvalidArgument

from .._errors import MjitError
from .._text import clean
from ._rig import RigConfig
from ._runner import parse_replay

__all__ = ["replay_value", "mjit_machine_config", "REPLAY_ENV"]

REPLAY_ENV = "PYTEST_MJIT_REPLAY"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mjit", "MJIT engine conformance")
    group.addoption("--mjit-replay", dest="mjit_replay", default=None, metavar="VERSION:BLOB",
                    help="replay one protocol-machine failure as its report printed it "
                         f"[env {REPLAY_ENV}]")


def pytest_configure(config: pytest.Config) -> None:
    """A bad replay value is an error at start-up, not a failure of the engine in a test."""
    if not (config.getoption("help", False) or config.getoption("version", False)):
        replay_value(config)


def replay_value(config: pytest.Config) -> str | None:
    """The ``--mjit-replay`` value (command line, else environment), checked; or None."""
    value = config.getoption("mjit_replay", None)
    origin = "--mjit-replay"
    if value is None and os.environ.get(REPLAY_ENV):
        value, origin = os.environ[REPLAY_ENV], REPLAY_ENV
    if value is not None:
        try:
            check_replay(value)
        except MjitError as exc:
            raise pytest.UsageError(str(exc).replace("--mjit-replay", origin, 1)) from None
    return value


def check_replay(value: str) -> None:
    """``MjitError`` unless ``value`` is a blob this Hypothesis can replay."""
    version, blob = parse_replay(value)
    if version != hypothesis.__version__:
        raise MjitError(f"--mjit-replay={clean(value, 60)}: made by Hypothesis {clean(version)}, "
                        f"this is Hypothesis {hypothesis.__version__}")
    try:
        decode_failure(blob)
    except InvalidArgument:
        raise MjitError(f"--mjit-replay={clean(value, 60)}: the blob is damaged (cannot "
                        "decode it; copy the whole line from the failure report)") from None


@pytest.fixture
def mjit_machine_config(request: pytest.FixtureRequest, tmp_path) -> RigConfig:
    """What a protocol machine needs to start the run's engine once per example."""
    from .._fixtures import session_of
    return RigConfig.from_session(session_of(request.config), tmp_path)
