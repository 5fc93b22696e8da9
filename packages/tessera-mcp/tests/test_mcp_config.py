"""The credentials file and the precedence of environment over file over default."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tessera_mcp.config import (
    DEFAULT_BASE_URL,
    config_dir,
    credentials_path,
    file_mode,
    load_credentials,
    mask_key,
    resolve_settings,
    save_credentials,
)

KEY = "tsk_live_abcdefghijklmnopqrstuvwxyz0123"


def test_config_dir_defaults_to_home(monkeypatch: object, tmp_path: Path) -> None:
    assert config_dir({"HOME": str(tmp_path)}) == Path.home() / ".tessera"
    assert config_dir({"TESSERA_CONFIG_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert credentials_path({"TESSERA_CONFIG_DIR": str(tmp_path)}) == tmp_path / "credentials.json"


def test_saved_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "credentials.json"
    save_credentials(path, {"api_key": KEY})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"api_key": KEY}
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temp left over


def test_rewriting_tightens_a_loose_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{}")
    path.chmod(0o644)
    save_credentials(path, {"api_key": KEY})
    assert file_mode(path) == 0o600


def test_missing_file_means_nothing_stored(tmp_path: Path) -> None:
    assert load_credentials(tmp_path / "absent.json") == {}
    settings = resolve_settings({"TESSERA_CONFIG_DIR": str(tmp_path)})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.base_url_source == "default"


def test_file_is_used_when_environment_is_silent(tmp_path: Path) -> None:
    save_credentials(tmp_path / "credentials.json", {"api_key": KEY, "base_url": "http://mem:9/"})
    settings = resolve_settings({"TESSERA_CONFIG_DIR": str(tmp_path)})
    assert settings.api_key == KEY
    assert settings.api_key_source == str(tmp_path / "credentials.json")
    assert settings.base_url == "http://mem:9"


def test_environment_wins_over_file(tmp_path: Path) -> None:
    save_credentials(tmp_path / "credentials.json", {"api_key": KEY, "base_url": "http://file:1"})
    env = {
        "TESSERA_CONFIG_DIR": str(tmp_path),
        "TESSERA_API_KEY": "tsk_live_fromenv000000",
        "TESSERA_BASE_URL": "http://env:2/",
    }
    settings = resolve_settings(env)
    assert settings.api_key == "tsk_live_fromenv000000"
    assert settings.api_key_source == "TESSERA_API_KEY"
    assert settings.base_url == "http://env:2"
    assert settings.base_url_source == "TESSERA_BASE_URL"


def test_blank_environment_values_do_not_count(tmp_path: Path) -> None:
    save_credentials(tmp_path / "credentials.json", {"api_key": KEY})
    env = {"TESSERA_CONFIG_DIR": str(tmp_path), "TESSERA_API_KEY": " ", "TESSERA_BASE_URL": ""}
    settings = resolve_settings(env)
    assert settings.api_key == KEY
    assert settings.base_url == DEFAULT_BASE_URL


def test_corrupt_file_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{not json")
    settings = resolve_settings({"TESSERA_CONFIG_DIR": str(tmp_path)})
    assert settings.api_key is None
    assert settings.credentials_problem is not None
    assert "not valid JSON" in settings.credentials_problem


def test_mask_key_hides_the_secret_part() -> None:
    masked = mask_key(KEY)
    assert masked == "tsk_live_…0123"
    assert "abcdefgh" not in masked
    assert mask_key("short") == "…rt"
