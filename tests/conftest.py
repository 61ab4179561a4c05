import contextlib
import os
import uuid
import warnings

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.test import override_settings
from filelock import FileLock

from knowledge import freshness
from lineled import services
from lineled.bench import private_queue
from lineled.roles import Role
from tests import var_folders
from tests.pdf_cache import pdf_work_cached

_held = pytest.StashKey[tuple]()


def pytest_configure(config):
    """This process takes its var folder (lineled.settings chose one for this run and
    worker) and prunes those that killed runs left behind."""
    config.stash[_held] = (settings.VAR_DIR, var_folders.hold(settings.VAR_DIR))
    var_folders.prune(var_folders.test_root(), keep=settings.VAR_DIR)
    if getattr(config.option, "testrunuid", "") is None:  # pytest-xdist's, not given
        # The workers take this process's run id, so the run's folders share one parent.
        config.option.testrunuid = settings.VAR_DIR.parent.name.removeprefix("run-")


def pytest_unconfigure(config):
    if held := config.stash.get(_held, None):
        var_folders.release(*held)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_blocker):
    """PostgreSQL test databases are named after the run too (SQLite's file is already in
    this process's var folder), and those a killed run left are dropped."""
    suffix = var_folders.database_suffix()
    for database in settings.DATABASES.values():
        if database["ENGINE"].endswith("sqlite3"):
            continue
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{suffix}"
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        for name in var_folders.orphan_databases(row[0] for row in cursor.fetchall()):
            # (Another process of a new run may be dropping it at the same moment.)
            with contextlib.suppress(DatabaseError):
                cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")


def pytest_report_header(config):
    return f"var folder: {settings.VAR_DIR.parent} (this run's own, a folder per process in it)"


@pytest.fixture(autouse=True, scope="session")
def _isolated_channel_prefix():
    # Parallel or repeated runs against one Redis must not hear each other.
    layer = settings.CHANNEL_LAYERS["default"]
    if "CONFIG" in layer:
        layer["CONFIG"]["prefix"] = f"lineled-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True, scope="session")
def _test_task_queue():
    """Tasks the tests enqueue go to a queue of their own, purged at the end,
    so a developer's running worker never picks them up."""
    queue = f"lineled-test-{uuid.uuid4().hex[:8]}"
    with private_queue(queue):
        yield queue


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes():
    """Test users' passwords hashed quickly: see tests/hashers.py."""
    hashers = ["tests.hashers.QuickPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS[1:]]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True, scope="session")
def _pdf_pages_read_once():
    """Each PDF page is read and rendered once per worker: see tests/pdf_cache.py."""
    with pdf_work_cached():
        yield


@pytest.fixture
def one_load_at_a_time(tmp_path_factory):
    """For a test that answers fifty users at once in this process: each user's thread
    holds a database connection, so two such tests on two xdist workers took more
    connections than a stock PostgreSQL allows (100), and a third test on either worker
    failed with "too many clients". A lock file in the user's pytest folder, above every
    run's base temporary folder, lets one such test run at a time on this machine, in
    this run or another started beside it."""
    runs = tmp_path_factory.getbasetemp().parent
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's folder is inside its run's
        runs = runs.parent
    with FileLock(runs / "one-load-at-a-time.lock"):
        yield


@pytest.fixture(autouse=True)
def _fresh_admission_counts(settings):
    """Each test counts requests from zero (lineled.admission keeps its counts in the
    cache): a key prefix of its own, which also keeps parallel runs on one Redis apart."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
    }


@pytest.fixture(autouse=True)
def _store_counted_again():
    """A test's chunks are rolled back: the in-memory copies of the store (the embeddings
    index, the word counts) must count the next test's store again, not take it for the
    same one within freshness.CHECK_SECONDS."""
    yield
    freshness.forget()


def _member(django_user_model, username: str, role: Role | None, first_name: str):
    user = django_user_model.objects.create_user(
        username, password=f"{username}-pass-123", first_name=first_name
    )
    if role is not None:
        services.set_role(user, role)
    return user


@pytest.fixture
def alice(django_user_model):
    """A crew member."""
    return _member(django_user_model, "alice", Role.CREW, "Alice")


@pytest.fixture
def bob(django_user_model):
    """A shift manager."""
    return _member(django_user_model, "bob", Role.MANAGER, "Bob")


@pytest.fixture
def charlie(django_user_model):
    """An ops engineer."""
    return _member(django_user_model, "charlie", Role.OPS, "Charlie")


@pytest.fixture
def redis_url():
    if not settings.REDIS_URL:
        pytest.skip(
            "needs REDIS_URL (CI sets it; run: REDIS_URL=redis://127.0.0.1:6379/0 make test)"
        )
    return settings.REDIS_URL


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets its own channel layer: channels_redis binds its receive lock to
    the event loop that first used it, and a receive left pending by an earlier test's
    loop must not hold that lock for the next one."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _no_transaction_left_open(request):
    """A transactional test ends with a TRUNCATE of every table, which on PostgreSQL
    waits for any other connection still inside a transaction. A connection some
    earlier code left idle in one (a thread or a process that outlived its test) made
    that wait run into the suite's timeout once in CI; such a connection is ended here,
    before the TRUNCATE, and named in a warning so the leak can be found."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so torn down after this
    yield
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, application_name, now() - xact_start, left(query, 300)"
            " FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
        )
        left = cursor.fetchall()
        for pid, *_ in left:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    if left:
        warnings.warn(
            f"{request.node.nodeid}: ended connections left in a transaction: {left}",
            stacklevel=1,
        )
