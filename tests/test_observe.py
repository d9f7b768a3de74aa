"""The directory watch sees every name created, even files deleted again at once."""

from __future__ import annotations

import os

import pytest

from pytest_mjit.testing import DirWatch

def test_watch_sees_files_created_and_deleted_again(tmp_path):
    (tmp_path / "before").touch()
    with DirWatch(tmp_path) as watch:
        (tmp_path / "gone.c").touch()
        os.remove(tmp_path / "gone.c")
        (tmp_path / "x.tmp").touch()
        os.rename(tmp_path / "x.tmp", tmp_path / "x.o")
        assert watch.created() == ["gone.c", "x.tmp", "x.o"]
        (tmp_path / "later").mkdir()
        assert watch.created() == ["gone.c", "x.tmp", "x.o", "later"]
    assert watch.created() == ["gone.c", "x.tmp", "x.o", "later"]


def test_watch_of_a_missing_directory_says_so(tmp_path):
    with pytest.raises(OSError, match=r"cannot watch .*missing"):
        DirWatch(tmp_path / "missing")
