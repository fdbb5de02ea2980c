import pytest

from sfa.config import from_environment, normalise_database_url, resolve


def test_environment_variables_override_defaults_with_their_types():
    found = from_environment({"SFA_ACCESS_TOKEN_TTL": "60", "SFA_LOG_JSON": "false", "OTHER": "x"})
    assert found == {"ACCESS_TOKEN_TTL": 60, "LOG_JSON": False}


def test_an_unreadable_number_names_the_variable():
    with pytest.raises(ValueError, match="SFA_ACCESS_TOKEN_TTL"):
        from_environment({"SFA_ACCESS_TOKEN_TTL": "soon"})


def test_postgres_urls_use_psycopg_three():
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_without_settings_the_instance_folder_holds_the_database_and_a_kept_secret(
    tmp_path, monkeypatch
):
    for name in ("SFA_DATABASE_URL", "SFA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    first = resolve(str(tmp_path), None)
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'sfa.db'}"
    assert resolve(str(tmp_path), None)["SECRET_KEY"] == first["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
