"""pytest side of the protocol machines: the ``--mjit-replay``, ``--mjit-campaign`` and
``--mjit-example-db`` options and the ``mjit_machine_config`` fixture.  Registered by
``pytest_mjit.plugin`` (``pytest_plugins``)."""

from __future__ import annotations

import dataclasses
import os

import pytest

import hypothesis
from hypothesis.core import decode_failure
from hypothesis.errors import InvalidArgument

from .._config import config_value
from .._errors import MjitError
from .._text import clean
from ._campaign import Campaign, parse_campaign, parse_example_db, worker_index
from ._rig import RigConfig
from ._runner import parse_replay

__all__ = ["replay_value", "campaign_value", "mjit_machine_config", "REPLAY_ENV",
           "SEARCH_OPTIONS"]

REPLAY_ENV = "PYTEST_MJIT_REPLAY"
#: option -> help; each is ``--mjit-OPTION``, ini ``mjit_OPTION`` (dashes as underscores)
#: and env ``PYTEST_MJIT_OPTION``.  docs/campaigns.md tells how to use them.
SEARCH_OPTIONS = {
    "campaign": "protocol machines search for this long (SECONDS, or with s/m/h: 15m, 2h), "
                "round after round from new seeds, on every worker; 'replay': only replay the "
                "example database's failures",
    "example-db": "Hypothesis example database shared by runs, workers and machines: a "
                  "directory, or a Redis URL redis://HOST:PORT/DB",
}
_CAMPAIGN_KEY = pytest.StashKey[Campaign | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mjit", "MJIT engine conformance")
    group.addoption("--mjit-replay", dest="mjit_replay", default=None, metavar="VERSION:BLOB",
                    help="replay one protocol-machine failure as its report printed it "
                         f"[env {REPLAY_ENV}]")
    for name, help_text in SEARCH_OPTIONS.items():
        key = name.replace("-", "_")
        group.addoption(f"--mjit-{name}", dest=f"mjit_{key}", default=None, metavar="VALUE",
                        help=f"{help_text} [ini mjit_{key}, env PYTEST_MJIT_{key.upper()}]")
        parser.addini(f"mjit_{key}", help_text, default=None)


def pytest_configure(config: pytest.Config) -> None:
    """A bad replay, campaign or database value is an error at start-up, not a failure of
    the engine in a test; so is a database that cannot be written or reached."""
    if not (config.getoption("help", False) or config.getoption("version", False)):
        replay_value(config)
        config.stash[_CAMPAIGN_KEY] = campaign_value(config)


def campaign_value(config: pytest.Config) -> Campaign | None:
    """The run's campaign from ``--mjit-campaign`` and ``--mjit-example-db``, checked (the
    database is created or reached now); None when neither is given."""
    (budget, budget_origin), (db, db_origin) = (config_value(config, "campaign"),
                                                config_value(config, "example-db"))
    if budget is None and db is None:
        return None
    try:
        campaign = parse_campaign(budget) if budget is not None else Campaign(seconds=None)
        if campaign.replay_only and db is None:
            raise MjitError("--mjit-campaign=replay: nothing to replay without an example "
                            "database (give --mjit-example-db=DIR or a Redis URL)")
        database = parse_example_db(db) if db is not None else None
    except MjitError as exc:
        text = str(exc).replace("--mjit-campaign", budget_origin, 1).replace(
            "--mjit-example-db", db_origin, 1)
        raise pytest.UsageError(text) from None
    workerid = getattr(config, "workerinput", {}).get("workerid")
    return dataclasses.replace(campaign, database=database, worker=worker_index(workerid))


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
    session = session_of(request.config)
    campaign = request.config.stash.get(_CAMPAIGN_KEY, None)
    if campaign is not None:
        campaign = dataclasses.replace(campaign, seed=session.settings.seed)
    return RigConfig.from_session(session, tmp_path, campaign=campaign)
