"""Options: eager validation with one clear line, and the C's normalisation (OPT-1)."""

import shutil

import pytest

from pytest_mjit import MjitError, Options


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_cache_size", "x", "invalid Options.max_cache_size='x': expected an integer"),
        ("min_calls", -1, "invalid Options.min_calls=-1: expected an integer >= 0"),
        ("wait_timeout", 0,
         "invalid Options.wait_timeout=0: expected a positive number of seconds"),
        ("verbose", -2, "invalid Options.verbose=-2: expected an integer >= 0"),
        ("save_temps", "yes", "invalid Options.save_temps='yes': expected True or False"),
        ("cc_family", "msvc", "invalid Options.cc_family='msvc': expected 'gcc', 'clang' or None"),
        ("cc", "", "invalid Options.cc='': expected a compiler name or path"),
        ("tmp_dir", "", "invalid Options.tmp_dir='': expected a directory path or None"),
        ("debug_flags", [1], "invalid Options.debug_flags=[1]: expected a sequence of strings"),
    ],
)
def test_bad_value_gives_one_clear_line(field, value, message):
    with pytest.raises(MjitError) as info:
        Options(**{"cc_family": "gcc", field: value})
    assert str(info.value) == message
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "given, expected", [(0, 100), (-5, 100), (1, 10), (9, 10), (10, 10), (250, 250)]
)
def test_max_cache_size_is_normalised_like_mjit_init(given, expected):
    assert Options(cc_family="gcc", max_cache_size=given).max_cache_size == expected


def test_min_calls_zero_means_the_c_default():
    assert Options(cc_family="gcc", min_calls=0).min_calls == 10000
    assert Options(cc_family="gcc", min_calls=3).min_calls == 3


def test_options_are_frozen():
    opts = Options(cc_family="gcc")
    with pytest.raises(AttributeError):
        opts.min_calls = 3


def test_debug_flags_string_is_split():
    assert Options(cc_family="gcc", debug_flags="-g3 -DX").debug_flags == ("-g3", "-DX")


@pytest.mark.parametrize("cc, family", [("gcc", "gcc"), ("clang", "clang")])
def test_family_is_detected_from_version(cc, family):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed")
    assert Options(cc=cc).cc_family == family


def test_missing_compiler_leaves_family_unknown():
    assert Options(cc="/nonexistent/cc").cc_family is None


def test_replace_redetects_family_for_a_new_compiler():
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    assert Options(cc="gcc").replace(cc="clang").cc_family == "clang"
