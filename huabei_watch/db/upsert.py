"""The one upsert helper: "insert if absent" and "insert or update", for SQLite and PostgreSQL.

Both databases speak ``INSERT ... ON CONFLICT``, so each operation is one atomic statement: of two
processes racing on the same key exactly one inserts. Any other dialect raises
:class:`NotImplementedError` with what to use instead.

Statements are compiled once. SQLAlchemy 2.0 gives the dialect ``insert()`` constructs no cache
key (their ``ON CONFLICT`` clause is not traversable), so every call used to compile its statement
anew. Here each statement is built once per *shape* (operation, table, columns, conflict keys,
update rule) with every value a bound parameter supplied at execution, and carries a cache key
made of that shape, so SQLAlchemy's compiled cache serves every later call of the same shape. An
``update`` given as SQL expressions (``attempts + 1``) builds its statement per call but still
hits the cache: the expressions' own cache keys join the shape and their literal values are
handed over as extracted parameters, exactly as SQLAlchemy does for its own constructs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, Table, bindparam, func
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.cache_key import CacheKey

_SET_SUFFIX = "__set"  # bound-parameter name of a plain value in ``update``: ``<column>__set``


class _ShapedCache:
    """Mixin: the statement's cache key is its shape (set when built), plus the literal
    parameters of the SQL expressions in it, in a fixed order."""

    inherit_cache = False  # the key comes from _generate_cache_key below, not from traversal
    _shape: tuple[Hashable, ...] = ()
    _extracted: tuple[BindParameter[Any], ...] = ()

    def _generate_cache_key(self) -> CacheKey | None:
        if not self._shape:
            return None
        return CacheKey(self._shape, list(self._extracted))


def _insert_class(dialect: str) -> type[Any] | None:
    """The dialect's ``Insert`` with :class:`_ShapedCache`, made on first use: a process on SQLite
    never imports SQLAlchemy's PostgreSQL dialect (~2 MB, issue 17) and the other way round."""
    cls = _CLASSES.get(dialect)
    if cls is None and dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import Insert
        else:
            from sqlalchemy.dialects.postgresql import Insert  # type: ignore[assignment]
        cls = _CLASSES[dialect] = type(f"_{dialect.title()}Insert", (_ShapedCache, Insert), {"inherit_cache": False})
    return cls


_CLASSES: dict[str, type[Any]] = {}
#: Built statements by shape; bounded by the code's call sites (shapes are not data-dependent).
_BUILT: dict[tuple[Hashable, ...], Any] = {}


def _statement(
    conn: AsyncConnection, shape: tuple[Hashable, ...], build: Callable[[Any], Any],
    extracted: tuple[BindParameter[Any], ...] = (), *, reuse: bool = True,
) -> Any:
    """The statement of ``shape`` for this connection's dialect, built by ``build(insert)`` once
    (or every call when ``reuse`` is false: it holds per-call SQL expressions)."""
    dialect = conn.dialect.name
    cls = _insert_class(dialect)
    if cls is None:
        raise NotImplementedError(f"database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)")
    key = (dialect, *shape)
    stmt = _BUILT.get(key) if reuse else None
    if stmt is None:
        stmt = build(cls(shape[1]))  # shape[1] is always the table
        stmt._shape = key
        stmt._extracted = extracted
        if reuse:
            _BUILT[key] = stmt
    return stmt


async def insert_if_absent(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], keys: Sequence[str]
) -> bool:
    """Insert a row unless one with the same ``keys`` exists. True if this call inserted it."""
    shape = ("absent", table, tuple(keys))
    stmt = _statement(conn, shape, lambda ins: ins.on_conflict_do_nothing(index_elements=list(keys)))
    result = await conn.execute(stmt, dict(values))
    return bool(result.rowcount)


async def insert_all_if_absent(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], *, chunk: int = 500
) -> list[Row[Any]]:
    """Insert every row whose ``keys`` are not taken yet (every row has the same columns; sent
    ``chunk`` rows per executemany); returns the ``keys`` columns of the rows this call inserted."""
    shape = ("absent-returning", table, tuple(keys))
    stmt = _statement(
        conn, shape,
        lambda ins: ins.on_conflict_do_nothing(index_elements=list(keys)).returning(*(table.c[k] for k in keys)),
    )
    inserted: list[Row[Any]] = []
    for i in range(0, len(rows), chunk):
        part = [dict(r) for r in rows[i : i + chunk]]
        if len(part) == 1:
            inserted.extend((await conn.execute(stmt, part[0])).all())
        else:
            inserted.extend((await conn.execute(stmt, part)).all())
    return inserted


def _split_update(update: Mapping[str, Any]) -> tuple[tuple[Hashable, ...], tuple[BindParameter[Any], ...], bool]:
    """The shape of an explicit ``update``, the literal parameters of its SQL expressions, and
    whether it holds any expression (then its statement is built per call)."""
    shape: list[Hashable] = []
    extracted: list[BindParameter[Any]] = []
    has_expr = False
    for col, value in update.items():
        if isinstance(value, ColumnElement):
            ck = value._generate_cache_key()
            if ck is None:
                raise ValueError(f"update of {col!r}: this SQL expression cannot be cached; use a simpler one")
            shape.append((col, ck.key))
            extracted.extend(ck.bindparams)
            has_expr = True
        else:
            shape.append((col, None))
    return tuple(shape), tuple(extracted), has_expr


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
    update: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``values``, or update the row with the same ``keys``: by default every other column
    but those in ``keep`` (e.g. a first-seen time) takes the new value; ``update`` sets exactly
    these columns instead (values or SQL expressions on the existing row, e.g. ``attempts + 1``)."""
    cols = tuple(values)
    params = dict(values)
    if update is None:
        set_cols = tuple(k for k in cols if k not in keys and k not in keep)
        shape: tuple[Hashable, ...] = ("upsert", table, cols, tuple(keys), set_cols)

        def build(ins: Any) -> Any:
            if not set_cols:
                return ins.on_conflict_do_nothing(index_elements=list(keys))
            return ins.on_conflict_do_update(index_elements=list(keys), set_={k: ins.excluded[k] for k in set_cols})

        stmt = _statement(conn, shape, build)
    else:
        update_shape, extracted, has_expr = _split_update(update)
        shape = ("upsert-set", table, cols, tuple(keys), update_shape)
        for col, value in update.items():
            if not isinstance(value, ColumnElement):
                name = col + _SET_SUFFIX
                if name in params:
                    raise ValueError(f"column {name!r} clashes with the parameter of update({col!r})")
                params[name] = value

        def build_set(ins: Any) -> Any:
            set_ = {
                col: value if isinstance(value, ColumnElement) else bindparam(col + _SET_SUFFIX, type_=table.c[col].type)
                for col, value in update.items()
            }
            if not set_:
                return ins.on_conflict_do_nothing(index_elements=list(keys))
            return ins.on_conflict_do_update(index_elements=list(keys), set_=set_)

        stmt = _statement(conn, shape, build_set, extracted, reuse=not has_expr)
    await conn.execute(stmt, params)


async def upsert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
) -> None:
    """:func:`upsert` for many rows with the same columns, as one executemany (batched by the
    driver): thousands of rows per round trip instead of one statement each. Columns in ``keep``
    keep the existing row's value."""
    if not rows:
        return
    cols = tuple(rows[0])
    set_cols = tuple(k for k in cols if k not in keys and k not in keep)
    shape = ("upsert", table, cols, tuple(keys), set_cols)

    def build(ins: Any) -> Any:
        if not set_cols:
            return ins.on_conflict_do_nothing(index_elements=list(keys))
        return ins.on_conflict_do_update(index_elements=list(keys), set_={k: ins.excluded[k] for k in set_cols})

    await conn.execute(_statement(conn, shape, build), [dict(r) for r in rows])


async def accumulate(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    sums: Sequence[str] = (),
    maxes: Sequence[str] = (),
) -> None:
    """Insert the row, or fold it into the row with the same ``keys``: columns in ``sums`` are
    added, columns in ``maxes`` keep the larger value, the others are replaced. One statement, so
    concurrent writers never lose a count (a summary row per interval, e.g. checks per hour).
    ``values`` may be a list of rows with the same columns: one executemany for all of them."""
    rows = [values] if isinstance(values, Mapping) else list(values)
    if not rows:
        return
    stmt = accumulate_statement(conn, table, tuple(rows[0]), keys, sums=sums, maxes=maxes)
    await conn.execute(stmt, dict(rows[0]) if len(rows) == 1 else [dict(r) for r in rows])


def accumulate_statement(
    conn: AsyncConnection, table: Table, cols: Sequence[str], keys: Sequence[str], *,
    sums: Sequence[str] = (), maxes: Sequence[str] = (),
) -> Any:
    """The statement :func:`accumulate` executes for rows of ``cols`` (built once per shape; each
    column a bound parameter of its name)."""
    cols = tuple(cols)
    shape = ("accumulate", table, cols, tuple(keys), tuple(sums), tuple(maxes))
    postgres = conn.dialect.name == "postgresql"

    def build(ins: Any) -> Any:
        greatest = func.greatest if postgres else func.max
        update: dict[str, Any] = {}
        for k in cols:
            if k in keys:
                continue
            if k in sums:
                update[k] = table.c[k] + ins.excluded[k]
            elif k in maxes:
                update[k] = greatest(table.c[k], ins.excluded[k])
            else:
                update[k] = ins.excluded[k]
        return ins.on_conflict_do_update(index_elements=list(keys), set_=update)

    return _statement(conn, shape, build)


#: (dialect, id of the statement) -> the statement (kept alive), its SQL text, its parameters' order.
_DRIVER_SQL: dict[tuple[str, int], tuple[Any, str, tuple[str, ...]]] = {}


def driver_sql(conn: AsyncConnection, stmt: Any) -> tuple[str, tuple[str, ...]] | None:
    """``stmt`` (a statement built once and kept, e.g. a module constant or one of the statements
    above) compiled once per dialect for :meth:`~AsyncConnection.exec_driver_sql`: its SQL text and
    the names of its bound parameters in the order the driver takes them; None when the dialect
    binds by name (then execute ``stmt`` itself).

    For executemany of thousands of rows where SQLAlchemy's per-row work (parameter dicts, type
    processors) costs more than the database: the caller passes tuples in that order, each value
    already in the driver's form (no type processing happens on this path)."""
    key = (conn.dialect.name, id(stmt))
    known = _DRIVER_SQL.get(key)
    if known is None or known[0] is not stmt:
        compiled = stmt.compile(dialect=conn.dialect)
        if not compiled.positional or compiled.positiontup is None:
            return None
        known = _DRIVER_SQL[key] = (stmt, str(compiled), tuple(compiled.positiontup))
    return known[1], known[2]
