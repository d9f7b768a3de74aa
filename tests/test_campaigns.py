"""Campaigns share what they find: one pytest process (a worker of a campaign) finds a planted
protocol bug and saves it to the example database as soon as it finds it; a second, separate
process that generates nothing replays it from there.  Both databases: a directory, and a real
``redis-server`` on loopback.  And bad ``--mjit-campaign``/``--mjit-example-db`` values are one
clear error at start-up."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_mjit.machines import run_machine
from pytest_mjit.machines._campaign import (Campaign, database_key, parse_example_db,
                                            round_seed, worker_index)
from pytest_mjit.testing import DeadlineExceeded, wait_for

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
#: Found by the quick preset's first round from this seed within a few examples (measured:
#: example 6, seconds); its shrinking takes minutes, so the finder is stopped once it saved.
MUTANT, SEED = "sm_copy_off_main", 2
#: Seconds (scaled) a worker may take to find and save the failure, and to start a server.
FIND_LIMIT = 180.0
SERVER_LIMIT = 10.0
#: Seconds a replaying worker may take (it runs one saved example and its report).
REPLAY_LIMIT = 180.0


def _worker_command(basetemp: Path, *options: str) -> list[str]:
    """One worker: the conformance suite's controlled protocol machine against the mutant."""
    return [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-k",
            "test_protocol_machine and not free", "-p", "no:cacheprovider", "-p", "no:xdist",
            "-p", "no:randomly", "-q", f"--basetemp={basetemp}",
            f"--mjit-engine=tests.mutants.{MUTANT}:create_engine", "--mjit-preset=quick",
            f"--mjit-seed={SEED}", *options]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Kill ``proc``'s process group (the worker, its compilers) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A fresh redis-server on 127.0.0.1 and a free port, its files in a temp dir, no
    persistence; killed and reaped at the end."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run "
                    "installs it)")
    import redis
    work = tmp_path / "redis"
    work.mkdir()
    port = _free_port()
    proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--dir",
                             str(work), "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    def answers() -> bool:
        if proc.poll() is not None:
            return True
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
    try:
        wait_for(answers, SERVER_LIMIT, "redis-server to answer", poll=0.05)
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with {proc.returncode}: "
                        f"{proc.stdout.read().decode(errors='replace')[-2000:]}")  # type: ignore[union-attr]
        yield url
    finally:
        client.close()
        _stop(proc)
        proc.stdout.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def _saved(db: str):
    """A function telling how many examples ``db`` holds (its connection closed at exit)."""
    if db.startswith("redis://"):
        import redis
        with redis.Redis.from_url(db, socket_connect_timeout=1, socket_timeout=1) as client:
            yield lambda: len(client.keys("hypothesis-example:*"))
    else:
        yield lambda: sum(len(files) for _, _, files in os.walk(db))


@pytest.mark.parametrize("kind", ["directory", "redis"])
def test_a_failure_found_by_one_worker_is_replayed_by_another(request, tmp_path, kind):
    db = (request.getfixturevalue("redis_url") if kind == "redis"
          else str(tmp_path / "examples"))
    closing = contextlib.ExitStack()
    request.addfinalizer(closing.close)
    saved = closing.enter_context(_saved(db))
    log = tmp_path / "finder.log"
    with open(log, "w") as out:
        finder = subprocess.Popen(
            _worker_command(tmp_path / "finder", "--mjit-campaign=10m", f"--mjit-example-db={db}"),
            cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_for(lambda: saved() > 0 or finder.poll() is not None, FIND_LIMIT,
                     "the first worker to save a failure", poll=0.05)
        except DeadlineExceeded:
            pytest.fail(f"no failure saved within {FIND_LIMIT:g}s:\n{log.read_text()[-3000:]}")
        assert saved() > 0, f"the first worker ended without saving:\n{log.read_text()[-3000:]}"
        # A second process, while the first still shrinks: it generates nothing, so the
        # failure it meets can only come from the database.
        replayer = subprocess.Popen(
            _worker_command(tmp_path / "replayer", "--mjit-campaign=replay",
                            f"--mjit-example-db={db}"),
            cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = replayer.communicate(timeout=REPLAY_LIMIT)
        finally:
            _stop(replayer)         # its compilers too, should the replay outlive its limit
    finally:
        _stop(finder)
    assert replayer.returncode == 1, out[-3000:]
    assert "1 failed" in out, out[-3000:]
    assert "replayed the example database (nothing generated)" in out, out[-3000:]
    assert "failed clause(s): COPYJOB-1" in out, out[-3000:]
    assert "steps (not shrunk):" in out, out[-3000:]
    assert "called off the main thread" in out, out[-3000:]


def test_replaying_an_empty_database_runs_nothing(mjit_machine_config, tmp_path):
    """The control: with nothing saved, a replay-only run has no example to run and passes."""
    import importlib
    factory = importlib.import_module(f"tests.mutants.{MUTANT}").create_engine
    campaign = Campaign(seconds=None, replay_only=True,
                        database=parse_example_db(str(tmp_path / "empty")))
    config = dataclasses.replace(mjit_machine_config.replace(factory=factory, preset="quick"),
                                 campaign=campaign)
    run = run_machine(config)
    assert not run.failed and run.examples == 0, run.describe()
    assert "replayed the example database" in run.describe()


def test_a_run_closes_its_redis_connections(mjit_machine_config, redis_url):
    """run_machine leaves no connection to the example database open: the server counts
    as many clients after it as before."""
    import redis
    import mjit_ref
    campaign = Campaign(seconds=None, replay_only=True, database=parse_example_db(redis_url))
    config = dataclasses.replace(
        mjit_machine_config.replace(factory=mjit_ref.create_engine, preset="quick"),
        campaign=campaign)
    with redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1) as client:
        before = client.client_list()
        run = run_machine(config)
        after = client.client_list()
    assert not run.failed, run.describe()
    assert len(after) == len(before), after


def test_keys_and_seeds_separate_what_they_must():
    """Findings are shared by runs of one engine, machine and preset, and no other; every
    worker and round searches from its own seed, round 0 of worker 0 from the run's."""
    key = database_key("ref", True, "quick")
    assert key == database_key("ref", True, "quick")
    assert len({key, database_key("ref", False, "quick"), database_key("x:f", True, "quick"),
                database_key("ref", True, "thorough")}) == 4
    assert round_seed(7, 0, 0) == 7
    assert len({round_seed(7, w, n) for w in range(4) for n in range(50)}) == 200
    assert [worker_index(w) for w in ("gw0", "gw12", None, "master")] == [0, 12, 0, 0]


def errors(result) -> list[str]:
    return [line for line in result.errlines if line]


@pytest.mark.parametrize("args, error", [
    (["--mjit-campaign=soon"], "--mjit-campaign=soon: expected a time budget (seconds, or a "
                               "number with s, m or h, e.g. 90, 15m, 2h) or 'replay'"),
    (["--mjit-campaign=0"], "--mjit-campaign=0: expected a time budget"),
    (["--mjit-campaign=replay"], "--mjit-campaign=replay: nothing to replay without an "
                                 "example database (give --mjit-example-db=DIR or a Redis URL)"),
    (["--mjit-example-db=http://host/x"], "--mjit-example-db=http://host/x: expected a "
                                          "directory or a Redis URL (redis://HOST:PORT/DB), "
                                          "not a http:// URL"),
    (["--mjit-example-db=redis://127.0.0.1:notaport/0"],
     "--mjit-example-db=redis://127.0.0.1:notaport/0: not a valid Redis URL"),
])
def test_bad_campaign_options_are_one_start_up_error(pytester, args, error):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    found = errors(result)
    assert len(found) == 1 and found[0].startswith(f"ERROR: {error}"), found


def test_an_unreachable_redis_server_is_a_start_up_error(pytester):
    port = _free_port()          # nothing listens there
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"--mjit-example-db=redis://127.0.0.1:{port}/0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    found = errors(result)
    assert len(found) == 1, found
    assert found[0].startswith(f"ERROR: --mjit-example-db=redis://127.0.0.1:{port}/0: the "
                               "Redis server does not answer ("), found


def test_an_unwritable_directory_is_a_start_up_error(pytester, monkeypatch):
    blocker = pytester.path / "afile"
    blocker.write_text("")
    pytester.makepyfile("def test_x():\n    pass\n")
    monkeypatch.setenv("PYTEST_MJIT_EXAMPLE_DB", str(blocker / "db"))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [f"ERROR: PYTEST_MJIT_EXAMPLE_DB={blocker / 'db'}: cannot create "
                              "the directory (Not a directory)"]


def test_the_fuzz_target_runs_the_chosen_engine_with_its_own_key(monkeypatch, tmp_path):
    """``pytest_mjit.machines.fuzz_target`` (for HypoFuzz, docs/campaigns.md) builds the
    machines of the engine the environment names: the mutant's is found from the seed the
    campaign test uses, and the example database becomes the default one."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.internal.reflection import function_digest
    from hypothesis.stateful import get_state_machine_test
    monkeypatch.setenv("PYTEST_MJIT_ENGINE", f"tests.mutants.{MUTANT}:create_engine")
    monkeypatch.setenv("PYTEST_MJIT_PRESET", "quick")
    monkeypatch.setenv("PYTEST_MJIT_EXAMPLE_DB", str(tmp_path / "db"))
    profile = settings.get_current_profile_name()
    monkeypatch.delitem(sys.modules, "pytest_mjit.machines.fuzz_target", raising=False)
    try:
        from pytest_mjit.machines import fuzz_target
        assert str(settings().database) == str(parse_example_db(str(tmp_path / "db")).open())
        cls = fuzz_target.TestProtocolMachine.runTest._hypothesis_state_machine_class
        assert function_digest(cls) != function_digest(
            fuzz_target.TestProtocolMachineFreeRunning.runTest._hypothesis_state_machine_class)
        test = get_state_machine_test(cls, settings=settings(
            max_examples=10, stateful_step_count=10, database=None, phases=[Phase.generate],
            deadline=None, suppress_health_check=list(HealthCheck)))
        with pytest.raises(Exception, match=r"\[COPYJOB-1\]"):
            hypothesis.seed(SEED)(test)()
    finally:
        settings.load_profile(profile)
        module = sys.modules.pop("pytest_mjit.machines.fuzz_target", None)
        if module is not None:
            shutil.rmtree(module._WORK, ignore_errors=True)
