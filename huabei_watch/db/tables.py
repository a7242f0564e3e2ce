"""Table definitions (SQLAlchemy Core). One MetaData for the whole project.

Each role defines its tables in its own modules on this ``metadata``; the composition root
imports them all (:mod:`huabei_watch.root.schema`), and its Alembic revisions create and change
them (:mod:`huabei_watch.db.migrate` runs them; ``huabei-watch db check`` compares the two).
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
