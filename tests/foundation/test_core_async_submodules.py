""":func:`huabei_watch.db.core_async._is_submodule` finds submodules however the package is
installed: from source, sourceless (``.pyc`` only, ``compileall -b``) or inside a zip. Telling a
submodule from a missing export is what lets ``from sqlalchemy.ext.asyncio import engine`` load
the submodule instead of running the package's ``__init__`` (and the ORM with it)."""

from __future__ import annotations

import compileall
import importlib
import sys
import zipfile
from pathlib import Path

import pytest

from huabei_watch.db.core_async import _is_submodule


def _package(root: Path, name: str, *, sourceless: bool) -> None:
    pkg = root / name
    (pkg / "nested").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", "utf-8")
    (pkg / "engine.py").write_text("VALUE = 1\n", "utf-8")
    (pkg / "nested" / "__init__.py").write_text("", "utf-8")
    if sourceless:
        assert compileall.compile_dir(pkg, quiet=1, legacy=True)
        for source in pkg.rglob("*.py"):
            source.unlink()


@pytest.mark.parametrize("form", ["source", "sourceless", "sourceless-zip"])
def test_a_submodule_is_found_however_the_package_is_installed(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"huabei_probe_{form.replace('-', '_')}"
    _package(tmp_path / "src", name, sourceless=form != "source")
    entry = tmp_path / "src"
    if form == "sourceless-zip":
        entry = tmp_path / "pkg.zip"
        with zipfile.ZipFile(entry, "w") as z:
            for f in sorted((tmp_path / "src").rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(tmp_path / "src").as_posix())
    monkeypatch.syspath_prepend(str(entry))
    try:
        package = importlib.import_module(name)
        if form != "source":
            assert not list((tmp_path / "src").rglob("*.py"))  # really sourceless
        assert _is_submodule(package, "engine")
        assert _is_submodule(package, "nested")
        assert not _is_submodule(package, "AsyncSession")
        assert not _is_submodule(package, "nope")
        assert f"{name}.engine" not in sys.modules  # looked for, not imported
    finally:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]


def test_a_module_that_is_no_package_has_no_submodules() -> None:
    assert not _is_submodule(compileall, "engine")
