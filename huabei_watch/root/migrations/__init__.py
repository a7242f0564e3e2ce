"""Alembic scripts of every role's tables: ``env.py`` and ``versions/`` (run by :mod:`huabei_watch.db.migrate`)."""
