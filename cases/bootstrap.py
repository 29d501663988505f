"""Creating or upgrading a database for a district: schema, townships, the system actor."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cases.config import District
from cases.db import migrate
from cases.models import Township
from cases.users import system_user

_LOGGER = logging.getLogger(__name__)


def init_database(engine: Engine, district: District) -> dict[str, object]:
    """Migrate to the newest schema and bring the township table in line with the config."""
    revision = migrate(engine)
    added = renamed = 0
    with Session(engine) as session:
        existing = {t.code: t for t in session.exec(select(Township)).all()}
        for cfg in district.townships:
            row = existing.get(cfg.code)
            if row is None:
                session.add(Township(code=cfg.code, name=cfg.name))
                added += 1
            elif row.name != cfg.name:
                row.name = cfg.name
                session.add(row)
                renamed += 1
        session.commit()
        system_user(session)
    _LOGGER.info("initialised %s: revision %s, %d townships added", district.district.name, revision, added)
    return {"revision": revision, "townships_added": added, "townships_renamed": renamed,
            "district": district.district.name}
