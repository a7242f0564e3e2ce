"""Table definitions (SQLAlchemy Core). One MetaData for the whole project.

Each role defines its tables in its own modules on this ``metadata``; the composition root
imports them all (:mod:`huabei_watch.root.schema`) and :mod:`huabei_watch.db.migrations` creates
them, so an upgrade keeps data.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)
