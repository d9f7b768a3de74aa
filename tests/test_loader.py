"""The engine loader: one clear line for every kind of bad --mjit-engine."""

import pytest

from pytest_mjit import MjitError, installed_engines, load_engine


def test_ref_is_installed():
    assert installed_engines()["ref"] == "mjit_ref:create_engine"


def test_module_colon_factory_is_loaded():
    factory = load_engine("mjit_ref:create_engine")
    assert callable(factory)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nosuch", "--mjit-engine=nosuch: no engine named 'nosuch' (installed engines: ref; "
                   "or give 'package.module:factory')"),
        ("no_such_module_x:make", "--mjit-engine=no_such_module_x:make: cannot import module "
                                  "'no_such_module_x' (ModuleNotFoundError: No module named "
                                  "'no_such_module_x')"),
        ("pytest_mjit:no_factory", "--mjit-engine=pytest_mjit:no_factory: module 'pytest_mjit' "
                                   "has no attribute 'no_factory'"),
        ("pytest_mjit:__version__", "--mjit-engine=pytest_mjit:__version__: "
                                    "pytest_mjit:__version__ is not callable (it is a str)"),
        (":f", "--mjit-engine=:f: expected 'package.module:factory'"),
        ("", "--mjit-engine='': expected an engine name or 'package.module:factory'"),
    ],
)
def test_bad_spec_gives_one_clear_line(spec, message):
    with pytest.raises(MjitError) as info:
        load_engine(spec)
    assert str(info.value) == message


def test_module_that_fails_on_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "broken_engine_mod.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MjitError, match=r"cannot import module 'broken_engine_mod' "
                                        r"\(RuntimeError: boom\)"):
        load_engine("broken_engine_mod:create")
