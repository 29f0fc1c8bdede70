"""SQLite writers take turns (db.writer): a second waits for the first, however long,
instead of failing with "database is locked"; a turn taken inside one's own never waits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from civicport.config import Settings
from civicport.datastore.transactions import write_transaction
from civicport.db.engine import make_engine
from civicport.db.writer import write_turn


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    events: list[str] = []
    first_has_it = threading.Event()

    def first() -> None:
        with write_turn(settings.resolved_database_url):
            first_has_it.set()
            time.sleep(0.4)
            events.append("first done")

    def second() -> None:
        first_has_it.wait()
        with write_turn(settings.resolved_database_url):
            events.append("second writes")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert events == ["first done", "second writes"]


def test_a_turn_inside_ones_own_does_not_wait(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    done: list[str] = []

    def nested() -> None:
        with write_turn(settings.resolved_database_url), write_turn(settings.resolved_database_url):
            done.append("inner")
        with write_turn(settings.resolved_database_url):  # released properly: taken again at once
            done.append("again")

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert done == ["inner", "again"]


def test_postgresql_needs_no_turns(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1/x")
    with write_turn(settings.resolved_database_url):
        pass

    assert list(tmp_path.iterdir()) == []  # no lock file


def test_a_write_transaction_waits_for_the_turn_another_writer_holds(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    engine = make_engine(settings)
    holding = threading.Event()
    order: list[str] = []

    def long_load() -> None:
        with write_turn(settings.resolved_database_url):
            holding.set()
            time.sleep(0.4)
            order.append("load committed")

    loader = threading.Thread(target=long_load)
    loader.start()
    holding.wait()
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        order.append("second writer")
    loader.join()
    engine.dispose()
    assert order == ["load committed", "second writer"]
