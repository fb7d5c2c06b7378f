"""Single-row SQL for the install path, without building a QuerySet.

Compiling a QuerySet into SQL costs several times what the database spends running a
one-row statement, and an install runs about ten of them (docs/benchmarks.md). These
helpers write the statement directly from the model's fields instead. Values are
prepared by each field's own ``pre_save`` and ``get_db_prep_save`` and rows come back
through the fields' converters, so encrypted, JSON and date columns hold exactly what
the ORM would store and read. They send no model signals (``pre_save``/``post_save``);
``installation_completed`` is the signal of an install.

Every statement goes to the model's write database: the install path must read what
it has just written. The upsert needs ``INSERT ... ON CONFLICT`` (PostgreSQL, SQLite 3.24+;
system check ``slack_installs.E005``). They serve this app's plain models: no model
inheritance, database defaults or generated fields, and an explicitly set primary key is
not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.db import connections, router
from django.db.models import Field, Model

ModelT = TypeVar("ModelT", bound=Model)
T = TypeVar("T")


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    # Every name given to these helpers is a concrete field, never a reverse relation.
    return cast("Field[Any, Any]", model._meta.get_field(name))


def _connection(model: type[Model]) -> tuple[str, Any]:
    alias = router.db_for_write(model)
    return alias, connections[alias]


def _quoted_columns(connection: Any, fields: Iterable[Any]) -> str:
    return ", ".join(connection.ops.quote_name(field.column) for field in fields)


def _cached(connection: Any, key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """What ``build`` returns, kept on the connection: statement text and converter lists
    cost more to make than the statement takes to run. Each thread has its own connection
    object, so nothing here is shared between threads."""
    cache = connection.__dict__.setdefault("_slack_installs_statements", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _row_converters(model: type[Model], connection: Any) -> list[tuple[int, Any, list[Any]]]:
    """For each column that needs converting: its position, expression and converters."""
    plan = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        # Field.get_db_converters (from_db_value) is Django's, missing from django-stubs.
        field_converters = field.get_db_converters(connection)  # type: ignore[attr-defined]
        converters = connection.ops.get_db_converters(column) + field_converters
        if converters:
            plan.append((position, column, converters))
    return plan


def _instance_from_row(model: type[ModelT], alias: str, connection: Any, row: Any) -> ModelT:
    """Turn a row of every concrete column, in ``_meta`` order, into a model instance."""
    values = list(row)
    plan = _cached(connection, ("converters", model), lambda: _row_converters(model, connection))
    for position, column, converters in plan:
        for convert in converters:
            values[position] = convert(values[position], column, connection)
    # None: the row holds every concrete field, which Django accepts and django-stubs does not know.
    return model.from_db(alias, None, values)  # type: ignore[arg-type]


def get_by(model: type[ModelT], field_name: str, value: Any) -> ModelT | None:
    """The row whose unique field ``field_name`` equals ``value``, or None."""
    alias, connection = _connection(model)
    field = _field(model, field_name)

    def build() -> str:
        meta = model._meta
        return (
            f"SELECT {_quoted_columns(connection, meta.concrete_fields)} "  # noqa: S608
            f"FROM {connection.ops.quote_name(meta.db_table)} "
            f"WHERE {connection.ops.quote_name(field.column)} = %s"
        )

    sql = _cached(connection, ("get_by", model, field_name), build)
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_value(_pk_of(value), connection)])
        row = cursor.fetchone()
    return None if row is None else _instance_from_row(model, alias, connection, row)


def _insert_fields(model: type[Model]) -> list[Any]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _insert_params(instance: Model, connection: Any) -> list[Any]:
    """The values an INSERT of ``instance`` writes, prepared as ``save()`` prepares them
    (defaults, ``auto_now``, encryption)."""
    return [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in _insert_fields(type(instance))
    ]


def _insert_sql(model: type[Model], connection: Any) -> str:
    fields = _insert_fields(model)
    return (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
        f"({_quoted_columns(connection, fields)}) VALUES ({', '.join(['%s'] * len(fields))})"
    )


def insert(instance: Model) -> None:
    """INSERT an unsaved instance and set its primary key."""
    model = type(instance)
    alias, connection = _connection(model)
    returning = connection.features.can_return_columns_from_insert

    def build() -> str:
        sql = _insert_sql(model, connection)
        if returning:
            sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
        return sql

    sql = _cached(connection, ("insert", model, returning), build)
    with connection.cursor() as cursor:
        cursor.execute(sql, _insert_params(instance, connection))
        instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding = False
    instance._state.db = alias


def upsert(instance: ModelT, *, unique_fields: list[str], update_fields: list[str]) -> ModelT:
    """INSERT ``instance``, or, when a row with the same ``unique_fields`` exists, UPDATE
    only ``update_fields`` of that row; either way in one statement, safe against a
    concurrent insert of the same row. Return the row as stored.

    ``unique_fields`` must be the fields of a unique constraint of the model.
    """
    model = type(instance)
    alias, connection = _connection(model)
    returning = connection.features.can_return_columns_from_insert

    def build() -> str:
        meta = model._meta
        quote = connection.ops.quote_name
        conflict = _quoted_columns(connection, (_field(model, name) for name in unique_fields))
        updates = ", ".join(
            f"{quote(column)} = excluded.{quote(column)}"
            for column in (_field(model, name).column for name in update_fields)
        )
        sql = f"{_insert_sql(model, connection)} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        if returning:
            sql += f" RETURNING {_quoted_columns(connection, meta.concrete_fields)}"
        return sql

    key = ("upsert", model, tuple(unique_fields), tuple(update_fields), returning)
    sql = _cached(connection, key, build)
    with connection.cursor() as cursor:
        cursor.execute(sql, _insert_params(instance, connection))
        if returning:
            return _instance_from_row(model, alias, connection, cursor.fetchone())
    # Databases without RETURNING (SQLite before 3.35): read the row back by its key.
    lookup = {name: getattr(instance, _field(model, name).attname) for name in unique_fields}
    return model._default_manager.db_manager(alias).get(**lookup)


def update(
    model: type[Model], pk: Any, values: dict[str, Any], *, where: dict[str, Any] | None = None
) -> int:
    """UPDATE ``values`` (field names) of the row ``pk`` when every ``where`` field equals its
    value (None: IS NULL); return the number of rows changed (0 or 1)."""
    _, connection = _connection(model)
    meta = model._meta
    where = where or {}

    def build() -> str:
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(_field(model, name).column)} = %s" for name in values)
        conditions = [f"{quote(meta.pk.column)} = %s"]
        for name, value in where.items():
            test = "IS NULL" if value is None else "= %s"
            conditions.append(f"{quote(_field(model, name).column)} {test}")
        return (
            f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {' AND '.join(conditions)}"
        )

    shape = (tuple(values), tuple((name, value is None) for name, value in where.items()))
    sql = _cached(connection, ("update", model, shape), build)
    params = [
        _field(model, name).get_db_prep_save(_pk_of(value), connection)
        for name, value in values.items()
    ]
    params.append(meta.pk.get_db_prep_value(pk, connection))
    params += [
        _field(model, name).get_db_prep_value(_pk_of(value), connection)
        for name, value in where.items()
        if value is not None
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _pk_of(value: Any) -> Any:
    """A related instance stands for its primary key, as in ``QuerySet.update()`` and
    ``filter()``."""
    return value.pk if isinstance(value, Model) else value
