"""The Alembic migrations produce exactly the schema the models declare, re-running is a no-op, and data survives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

import cases.models  # noqa: F401
from cases.config import District
from cases.db import migrate


def test_migrations_match_models(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: sa.Engine) -> None:
    first = migrate(engine)
    assert migrate(engine) == first
    names = set(sa.inspect(engine).get_table_names())
    assert {"case", "case_event", "notice", "notice_counter", "message", "app_user", "point"} <= names


def test_numbers_issued_before_the_issuer_series_stay_valid_and_their_series_run_on(
        db_url: str, district: District) -> None:
    """0009 puts every counter and notice of an existing database in its kind's common series."""
    from alembic import command

    from cases.db import alembic_config, make_engine
    from cases.numbering import take_number

    engine = make_engine(db_url)
    cfg = alembic_config(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008_f2_records")
    issued = [("武清教督〔2026〕1号", "supervision_notice", 1, district.district.bureau),
              ("武清教督〔2026〕2号", "supervision_notice", 2, district.district.bureau),
              ("武清教挂督〔2026〕1号", "listed_supervision", 1, district.district.committee)]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO notice_counter (district, kind, year, last) VALUES"
                             " ('120114', 'supervision_notice', 2026, 2), ('120114', 'listed_supervision', 2026, 1)"))
        for number, kind, seq, issuer in issued:
            conn.execute(sa.text(
                "INSERT INTO notice (number, district, kind, year, seq, addressee, issuer, data, content_hash,"
                " verify_code, pdf_sha256, pdf_path, issued_on, created_at) VALUES (:number, '120114', :kind, 2026,"
                " :seq, '梅厂镇人民政府', :issuer, '{}', 'h', 'c', '', '', '2026-11-09', '2026-11-09 02:00:00')"),
                {"number": number, "kind": kind, "seq": seq, "issuer": issuer})
    assert migrate(engine) == "0009_issuer_series"
    with engine.connect() as conn:
        counters = set(conn.execute(sa.text("SELECT district, kind, series, year, last FROM notice_counter")))
        kept = conn.execute(sa.text("SELECT number, kind, seq, issuer, series FROM notice ORDER BY id")).all()
    assert counters == {("120114", "supervision_notice", "", 2026, 2), ("120114", "listed_supervision", "", 2026, 1)}
    assert [tuple(r) for r in kept] == [(*row, "") for row in issued]
    with Session(engine) as s:
        bureau = take_number(s, district, kind="supervision_notice", issuer_ref="bureau", year=2026)
        committee = take_number(s, district, kind="listed_supervision", issuer_ref="committee", year=2026)
        s.commit()
    assert (bureau.series, bureau.seq, bureau.text) == ("", 3, "武清教督〔2026〕3号")
    assert (committee.series, committee.seq, committee.text) == ("committee", 1, "武清学前委挂督〔2026〕1号")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # the series' numbers are still unique
        conn.execute(sa.text(
            "INSERT INTO notice (number, district, kind, year, seq, addressee, issuer, data, content_hash,"
            " verify_code, pdf_sha256, pdf_path, issued_on, created_at) VALUES ('武清教督〔2026〕2号（重）', '120114',"
            " 'supervision_notice', 2026, 2, 'x', 'y', '{}', '', '', '', '', '2026-11-09', '2026-11-09 02:00:00')"))
    engine.dispose()
