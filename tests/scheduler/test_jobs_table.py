"""Several schedulers starting at once on one database: the job table is created once, none of them fails."""

from __future__ import annotations

import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from scheduler.runner import JOBS_TABLE, ensure_jobs_table
from tests.conftest import at_once


def test_schedulers_starting_together_all_find_the_job_table(engine: sa.Engine) -> None:
    def start() -> None:
        ensure_jobs_table(SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE))

    for _round in range(3):  # a new race each round: the table is dropped between them
        _done, failures = at_once(6, start, timeout=30)
        assert failures == []
        assert sa.inspect(engine).has_table(JOBS_TABLE)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {JOBS_TABLE}"))
