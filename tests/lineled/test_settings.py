import pytest
from django.core.exceptions import ImproperlyConfigured

from lineled.lib.env import env_bool, env_int, env_list
from tests.support import ROOT, clean_env, run_python

GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"


def python_c(code: str, tmp_path, **env):
    environment = clean_env(
        DJANGO_SETTINGS_MODULE="lineled.settings", LINELED_VAR_DIR=str(tmp_path), **env
    )
    return run_python(["-c", code], environment)


def manage(args: list[str], tmp_path, **env):
    return run_python(["manage.py", *args], clean_env(LINELED_VAR_DIR=str(tmp_path), **env))


def test_env_helpers_name_the_variable_they_cannot_read():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})
    with pytest.raises(ImproperlyConfigured, match="PORT='80a' is not a whole number"):
        env_int("PORT", 8000, environ={"PORT": "80a"})
    with pytest.raises(ImproperlyConfigured, match="PORT=0 is below the minimum 1"):
        env_int("PORT", 8000, minimum=1, environ={"PORT": "0"})
    assert env_bool("DEBUG", False, environ={"DEBUG": " Yes "}) is True
    assert env_int("PORT", 8000, environ={"PORT": ""}) == 8000
    assert env_list("HOSTS", [], environ={"HOSTS": "a.example, ,b.example"}) == [
        "a.example",
        "b.example",
    ]


def test_nothing_set_means_sqlite_a_filesystem_broker_and_an_in_memory_layer(tmp_path):
    result = python_c(
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']); print(s.DATABASES['default']['NAME']);"
        "print(s.CELERY_BROKER_URL); print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.DEBUG)",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    engine, name, broker, layer, debug = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "lineled.sqlite3")
    assert broker == "filesystem://"
    assert layer == "channels.layers.InMemoryChannelLayer"
    assert debug == "False"  # debug pages show settings and code: never by default
    assert (tmp_path / "celery" / "queue").is_dir()


def test_services_profile_uses_postgresql_and_redis(tmp_path):
    result = python_c(
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']); print(s.CELERY_BROKER_URL);"
        "print(s.CHANNEL_LAYERS['default']['BACKEND'])",
        tmp_path,
        DATABASE_URL="postgres://lineled@db.internal:5432/lineled",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/2",
        "lineled.channel_layer.ChannelLayer",  # channels_redis, reads within the timeout
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be a sqlite:// or postgres://"),
        ({"REDIS_URL": "http://cache"}, "REDIS_URL must be a redis://"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"LINELED_ENV": "staging"}, "LINELED_ENV='staging' must be one of"),
        ({"LINELED_ENV": "production", "ALLOWED_HOSTS": "x.example"}, "SECRET_KEY must be set"),
        ({"LINELED_ENV": "production", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS must be set"),
        (
            {"LINELED_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "x.example,*"},
            "ALLOWED_HOSTS='*' accepts any Host header",
        ),
        (
            {"LINELED_ENV": "production", "SECRET_KEY": "short", "ALLOWED_HOSTS": "x"},
            "at least 50 random characters",
        ),
        (
            {
                "LINELED_ENV": "production",
                "SECRET_KEY": GOOD_KEY,
                "ALLOWED_HOSTS": "x",
                "DEBUG": "1",
            },
            "DEBUG must be off",
        ),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(tmp_path, env, message):
    result = manage(["check"], tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_passes_the_deployment_checklist(tmp_path):
    result = manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        LINELED_ENV="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="lineled.example.com",
        DATABASE_URL="postgres://lineled@127.0.0.1:5432/lineled",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    import re

    source = (ROOT / "lineled" / "settings.py").read_text()
    source += (ROOT / "lineled" / "management" / "commands" / "serve.py").read_text()
    read = set(
        re.findall(r'env_(?:str|bool|int|float|list|choice|rate|required)\(\s*"([A-Z_]+)"', source)
    )
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no settings found; the pattern is out of date"
    assert read <= documented, f"missing from .env.example: {sorted(read - documented)}"
