"""Persistent state (SQLAlchemy 2, async): SQLite by default, PostgreSQL by URL."""

from huabei_watch.db import core_async

core_async.install()  # before any module of ours imports sqlalchemy.ext.asyncio (see core_async)
