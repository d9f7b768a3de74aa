"""Campaigns: the protocol machines searching for a time budget, and the Hypothesis example
database that carries what one run found to every other run (``--mjit-campaign``,
``--mjit-example-db``; docs/campaigns.md).

A failure is saved to the database the moment it is found (before shrinking), under a key
made of the engine, the machine (controlled or free-running) and the preset; every later run
with the same key replays it first, on any worker of any machine that shares the database."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from .._errors import MjitError
from .._text import clean

__all__ = ["Campaign", "ExampleDb", "parse_campaign", "parse_example_db", "close_database",
           "database_key",
           "round_seed", "worker_index", "REDIS_TIMEOUT"]

#: Seconds a Redis server gets to answer the start-up check (and each later command).
REDIS_TIMEOUT = 5.0
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_DURATION = re.compile(r"(\d+(?:\.\d*)?)\s*([smh]?)")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
#: Rounds of one worker start from seeds this far apart (and workers one apart).
_ROUND_STRIDE = 1_000_003


@dataclasses.dataclass(frozen=True)
class ExampleDb:
    """A checked ``--mjit-example-db`` value: a directory or a Redis URL."""

    value: str
    directory: Path | None = None
    redis_url: str | None = None

    def open(self) -> Any:
        """The Hypothesis ``ExampleDatabase`` this value names (``close_database`` it)."""
        if self.directory is not None:
            from hypothesis.database import DirectoryBasedExampleDatabase
            return DirectoryBasedExampleDatabase(str(self.directory))
        from hypothesis.extra.redis import RedisExampleDatabase
        return RedisExampleDatabase(_redis_client(self.value, str(self.redis_url)))

    def describe(self) -> str:
        return f"directory {self.directory}" if self.directory is not None else (
            f"Redis {self.redis_url}")


@dataclasses.dataclass(frozen=True)
class Campaign:
    """How the protocol machines search in this run.

    ``seconds``: search round after round (each a preset's worth of examples, from its own
    seed) until the budget is spent or a failure is found; ``replay_only``: replay what the
    database holds and generate nothing; neither: one search, with the database."""

    seconds: float | None
    replay_only: bool = False
    database: ExampleDb | None = None
    #: the run's seed (``--mjit-seed``), from which each round's seed is made
    seed: int = 0
    #: this worker's place among the run's workers (xdist ``gwN`` -> N), so that workers
    #: sharing the run's seed still search different examples
    worker: int = 0

    def describe(self) -> str:
        if self.replay_only:
            what = "replayed the example database (nothing generated)"
        elif self.seconds is not None:
            what = f"campaign of {self.seconds:g}s on worker {self.worker}"
        else:
            what = "searched"
        db = (f"example database: {self.database.describe()}" if self.database is not None
              else "no example database")
        return f"{what}, {db}"


def parse_campaign(value: str) -> Campaign:
    """``SECONDS`` (a number with an optional s, m or h) or ``replay``."""
    text = value.strip().lower()
    if text == "replay":
        return Campaign(seconds=None, replay_only=True)
    m = _DURATION.fullmatch(text)
    seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    if seconds <= 0:
        raise MjitError(f"--mjit-campaign={clean(value, 60)}: expected a time budget (seconds, "
                        "or a number with s, m or h, e.g. 90, 15m, 2h) or 'replay'")
    return Campaign(seconds=seconds)


def parse_example_db(value: str) -> ExampleDb:
    """A directory (created if missing) or a Redis URL, checked now: a directory that cannot
    be written or a server that does not answer is an error before any test runs."""
    shown = clean(value, 120)
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme not in _REDIS_SCHEMES:
            raise MjitError(f"--mjit-example-db={shown}: expected a directory or a Redis URL "
                            f"(redis://HOST:PORT/DB), not a {clean(scheme, 20)}:// URL")
        url = _redacted(value)
        client = _redis_client(value, url)
        try:
            client.ping()
        except Exception as exc:  # redis.ConnectionError, TimeoutError, AuthenticationError
            raise MjitError(f"--mjit-example-db={url}: the Redis server does not answer "
                            f"({clean(exc, 160)})") from None
        finally:
            client.close()
        return ExampleDb(value, redis_url=url)
    if not value.strip():
        raise MjitError("--mjit-example-db: empty value; give a directory or a Redis URL")
    path = Path(value).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MjitError(f"--mjit-example-db={shown}: cannot create the directory "
                        f"({clean(exc.strerror or exc, 80)})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise MjitError(f"--mjit-example-db={shown}: cannot write the directory "
                        "(permission denied)")
    return ExampleDb(value, directory=path.resolve())


def close_database(database: Any) -> None:
    """Close what ``ExampleDb.open`` opened: a Redis database's connections (a directory
    holds nothing open)."""
    client = getattr(database, "redis", None)
    if client is not None:
        client.close()


def _redis_client(value: str, shown: str) -> Any:
    try:
        import redis
    except ImportError:
        raise MjitError(f"--mjit-example-db={shown}: a Redis database needs the redis package "
                        "(pip install redis)") from None
    try:
        return redis.Redis.from_url(value, socket_connect_timeout=REDIS_TIMEOUT,
                                    socket_timeout=REDIS_TIMEOUT)
    except ValueError as exc:
        raise MjitError(f"--mjit-example-db={shown}: not a valid Redis URL "
                        f"({clean(exc, 120)})") from None


def _redacted(url: str) -> str:
    """``url`` without its password, for messages and reports."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def database_key(engine: str, controlled: bool, preset: str) -> bytes:
    """The example database key of one machine: runs share findings exactly when they test
    the same engine with the same machine and preset (another preset draws other steps, and
    a replay that does not fail is deleted from the database)."""
    machine = "controlled" if controlled else "free-running"
    text = f"pytest-mjit protocol machine\0{engine}\0{machine}\0{preset}"
    return hashlib.sha384(text.encode()).digest()


def round_seed(seed: int, worker: int, n: int) -> int:
    """The Hypothesis seed of round ``n`` of ``worker`` in a run seeded ``seed`` (round 0 of
    worker 0 is the run's seed itself)."""
    return (seed + worker + n * _ROUND_STRIDE) % 2**32


def worker_index(workerid: str | None) -> int:
    """xdist's ``gwN`` -> N; 0 outside xdist."""
    m = re.fullmatch(r"gw(\d+)", workerid or "")
    return int(m.group(1)) if m else 0
