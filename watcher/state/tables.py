"""Table definitions (SQLAlchemy Core). One MetaData for the whole project.

Modules add their tables here or in their own module on this ``metadata``; a migration in
:mod:`watcher.state.migrations` creates them, so an upgrade keeps data.
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
