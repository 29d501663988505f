"""Several schedulers starting at once on one database: the job table is created once, none of them fails."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from scheduler.runner import JOBS_TABLE, ensure_jobs_table


def test_schedulers_starting_together_all_find_the_job_table(engine: sa.Engine) -> None:
    starters = 6
    barrier = threading.Barrier(starters)
    failures: list[BaseException] = []

    def start() -> None:
        store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
        barrier.wait()
        try:
            ensure_jobs_table(store)
        except BaseException as exc:  # every failure is reported by the assertion below
            failures.append(exc)

    for _round in range(3):  # a new race each round: the table is dropped between them
        threads = [threading.Thread(target=start) for _ in range(starters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert failures == []
        assert sa.inspect(engine).has_table(JOBS_TABLE)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {JOBS_TABLE}"))
