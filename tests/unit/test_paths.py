"""One cache root and one data-folder variable; the old names still work, with a warning that names the new."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixlab import paths


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("MIXLAB_CACHE", "MIXLAB_CACHE_DIR", "MIXLAB_DATA_DIR", "MIXLAB_SHARED_DATA", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cache_root_is_mixlab_cache_else_xdg_else_home(clean_env, tmp_path):
    clean_env.setenv("HOME", str(tmp_path / "home"))
    assert paths.cache_root() == tmp_path / "home" / ".cache" / "mixlab"
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_root() == tmp_path / "xdg" / "mixlab"
    clean_env.setenv("MIXLAB_CACHE", str(tmp_path / "c"))
    assert paths.cache_root() == tmp_path / "c"
    assert paths.token_cache_dir() == tmp_path / "c" / "tokens"


def test_every_cache_lives_under_the_one_root(clean_env, tmp_path):
    from mixlab.mix.token_cache import default_cache_dir
    from mixlab.train.gguf_cache import cache_root as gguf_root
    from mixlab.world.model import default_cache_dir as world_root

    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "mixlab" / "tokens"
    assert gguf_root() == tmp_path / "mixlab" / "gguf"
    assert world_root() == tmp_path / "mixlab"


def test_old_variables_still_work_and_say_what_replaces_them(clean_env, tmp_path):
    clean_env.setenv("MIXLAB_CACHE_DIR", str(tmp_path / "tok"))
    with pytest.warns(FutureWarning, match=r"\$MIXLAB_CACHE_DIR is deprecated; set \$MIXLAB_CACHE"):
        assert paths.token_cache_dir() == tmp_path / "tok"
    clean_env.setenv("MIXLAB_SHARED_DATA", str(tmp_path / "data"))
    with pytest.warns(FutureWarning, match=r"\$MIXLAB_SHARED_DATA is deprecated; set \$MIXLAB_DATA_DIR"):
        assert paths.data_dir() == tmp_path / "data"


def test_the_data_folder_variable_is_what_suites_read(clean_env, tmp_path):
    from mixlab.errors import MixlabError
    from mixlab.eval.suites import data_dir

    with pytest.raises(MixlabError, match="MIXLAB_DATA_DIR"):
        data_dir(None)
    clean_env.setenv("MIXLAB_DATA_DIR", str(tmp_path))
    assert data_dir(None) == Path(tmp_path)
