"""SQLAlchemy's asyncio Core (``AsyncEngine``, ``AsyncConnection``) without its ORM.

The package ``sqlalchemy.ext.asyncio`` imports ``AsyncSession`` and with it all of
``sqlalchemy.orm`` (about 6 MB of RSS in every process) although the Core classes we use live in
its submodules ``engine`` and ``result``, which need no ORM. :func:`install` puts the package in
``sys.modules`` as a module whose ``__init__`` has not run, with the Core names set; any other name
asked of it (``AsyncSession``, ``async_sessionmaker``...) runs the real ``__init__`` first, so
code that does want the ORM side gets it unchanged, and nothing else can tell the difference.

Called when :mod:`huabei_watch.db` is imported, which every module of ours that opens a database
goes through (``tests/roles/test_watcher_process_imports.py`` checks that a watcher process never loads the ORM).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

_PACKAGE = "sqlalchemy.ext.asyncio"
#: The names the package exports from its Core submodules.
_CORE = {
    "engine": ("AsyncConnection", "AsyncEngine", "AsyncTransaction", "async_engine_from_config",
               "create_async_engine", "create_async_pool_from_url"),
    "result": ("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"),
}


class _CoreFirst(types.ModuleType):
    """``sqlalchemy.ext.asyncio`` with its Core names; runs the package's own ``__init__`` the first
    time any other public name is asked for."""

    def __getattr__(self, name: str) -> Any:
        # Dunders, and submodules not imported yet (``from . import exc`` asks here first), are
        # not the package's exports: the import system goes on to load the submodule.
        if name.startswith("__") or self.__dict__.get("_huabei_full") or _is_submodule(self, name):
            raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
        self.__dict__["_huabei_full"] = True
        spec = self.__spec__
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(self)
        return self.__dict__[name] if name in self.__dict__ else super().__getattribute__(name)


def _is_submodule(package: types.ModuleType, name: str) -> bool:
    """Does ``package`` have a submodule ``name`` in whatever form the import system finds it
    (source, sourceless ``.pyc``, extension module, subpackage, inside a zip)?"""
    if not hasattr(package, "__path__") or not name.isidentifier():
        return False
    return importlib.util.find_spec(f"{package.__name__}.{name}") is not None


def install() -> None:
    """Make ``from sqlalchemy.ext.asyncio import AsyncEngine`` load the Core side only. Does
    nothing when the package is already imported (then the ORM is loaded already)."""
    if _PACKAGE in sys.modules:
        return
    import sqlalchemy.ext

    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:  # not a package: leave it to Python
        return
    module = _CoreFirst(_PACKAGE)
    module.__spec__ = spec
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    sys.modules[_PACKAGE] = module
    sqlalchemy.ext.asyncio = module
    try:
        for sub, names in _CORE.items():
            loaded = importlib.import_module(f"{_PACKAGE}.{sub}")
            for name in names:
                setattr(module, name, getattr(loaded, name))
    except BaseException:
        del sys.modules[_PACKAGE]
        raise
