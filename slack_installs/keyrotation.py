"""Encryption key rotation: re-encrypt stored values under the active key.

Every ``EncryptedTextField`` of every installed model is covered. Rows are taken in
primary key order, a batch at a time; each batch is locked (``SELECT ... FOR
UPDATE``), re-encrypted and committed on its own, so a rotation can be stopped at
any moment and run again: the database only hands back rows that still hold a
value under another key, so finished rows cost nothing on the next run. A value
that decrypts with no configured key is reported and left exactly as it is.

Each model is read and written on the database the routers pick for it, unless a
``using`` alias is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.functions import Left

from . import crypto
from .conf import app_settings
from .exceptions import DecryptionError
from .fields import EncryptedTextField
from .models import column_of

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 10_000  # bounds how long one batch holds its row locks
MALFORMED = "(malformed)"


@dataclass(frozen=True)
class EncryptedModel:
    """A model and the names of its encrypted fields."""

    model: type[models.Model]
    fields: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.model._meta.label


@dataclass(frozen=True)
class Undecryptable:
    """A stored value no configured key decrypts; the reason names a key id, never the value."""

    model: str
    pk: Any
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.model} pk={self.pk} field {self.field}: {self.reason}"


@dataclass
class ModelRotation:
    """Progress and outcome of rotating one model."""

    label: str
    total: int
    done: int = 0
    values_reencrypted: int = 0
    undecryptable: list[Undecryptable] = field(default_factory=list)


def encrypted_models() -> list[EncryptedModel]:
    """Every concrete model with at least one encrypted field."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        names = tuple(
            f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        )
        if names:
            found.append(EncryptedModel(model, names))
    return found


def stored_prefix(key_id: str) -> str:
    """How every value encrypted under ``key_id`` begins."""
    return f"{crypto.FORMAT_PREFIX}:{key_id}:"


def _prefix_alias(name: str, prefix: str) -> str:
    return f"_keyprefix_{name}_{len(prefix)}"


def _with_prefixes(
    queryset: models.QuerySet, names: Iterable[str], prefixes: Iterable[str]
) -> models.QuerySet:
    # LEFT(column, n) = 'f1:<id>:' is an exact, case-sensitive comparison on every
    # backend (LIKE is not, on SQLite), and it lets the database skip finished rows.
    annotations = {
        _prefix_alias(name, prefix): Left(name, len(prefix), output_field=models.TextField())
        for name in names
        for prefix in prefixes
    }
    return queryset.annotate(**annotations)


def _not_under(names: Iterable[str], prefixes: list[str]) -> Q:
    """Rows where some field holds a value under none of ``prefixes``."""
    condition = Q()
    for name in names:
        under_known = Q()
        for prefix in prefixes:
            under_known |= Q(**{_prefix_alias(name, prefix): prefix})
        condition |= Q(**{f"{name}__isnull": False}) & ~under_known
    return condition


def stale_rows(
    entry: EncryptedModel, *, key_ids: list[str], using: str | None = None
) -> models.QuerySet[Any]:
    """The rows of ``entry`` holding at least one value under a key not in ``key_ids``
    (on ``using``, or where the routers send the query)."""
    prefixes = [stored_prefix(key_id) for key_id in key_ids]
    queryset = entry.model._base_manager.using(using)
    return _with_prefixes(queryset, entry.fields, prefixes).filter(
        _not_under(entry.fields, prefixes)
    )


def _key_id(value: str) -> str:
    try:
        return crypto.key_id_of(value)
    except DecryptionError:
        return MALFORMED


def _reencrypt_row(
    entry: EncryptedModel,
    row: tuple[Any, ...],
    active: str,
    report: ModelRotation,
    *,
    dry_run: bool,
) -> dict[str, str]:
    """The new stored values of one row's stale fields; undecryptable ones are reported."""
    pk, values = row[0], row[1:]
    changed: dict[str, str] = {}
    for name, value in zip(entry.fields, values, strict=True):
        if value is None or _key_id(value) == active:
            continue
        try:
            if dry_run:
                crypto.decrypt(value)  # only to learn whether it can be re-encrypted
                changed[name] = value
            else:
                changed[name] = crypto.reencrypt(value)
        except DecryptionError as exc:
            report.undecryptable.append(Undecryptable(entry.label, pk, name, str(exc)))
    return changed


def _write(entry: EncryptedModel, updates: dict[Any, dict[str, str]], using: str) -> None:
    """Store new ciphertexts verbatim on ``using``: one statement per set of changed fields.

    The ORM would compile an UPDATE per row, which costs more than the cryptography
    (``python -m bench keyrotation``).
    """
    connection = connections[using]
    by_shape: dict[tuple[str, ...], dict[Any, dict[str, str]]] = {}
    for pk, changed in updates.items():
        by_shape.setdefault(tuple(sorted(changed)), {})[pk] = changed
    with connection.cursor() as cursor:
        for names, rows in by_shape.items():
            if connection.vendor == "postgresql":
                _update_from_arrays(cursor, connection, entry.model, names, rows)
            else:
                _update_each(cursor, connection, entry.model, names, rows)


def _update_from_arrays(
    cursor: CursorWrapper,
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    names: tuple[str, ...],
    rows: dict[Any, dict[str, str]],
) -> None:
    # One round trip per batch: the rows travel as arrays and are joined on the pk.
    quote = connection.ops.quote_name
    opts = model._meta
    columns = [quote(column_of(model, name)) for name in names]
    assignments = ", ".join(f"{column} = v.c{i}" for i, column in enumerate(columns))
    arrays = ", ".join(["%s::text[]"] * len(names))
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    table, pk = quote(opts.db_table), quote(column_of(model, opts.pk.name))
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 (names quoted, values bound)
        f"FROM unnest(%s::{opts.pk.db_type(connection)}[], {arrays}) AS v(pk, {aliases}) "
        # The pk range keeps the join on the primary key index whatever the statistics say.
        f"WHERE {table}.{pk} = v.pk AND {table}.{pk} BETWEEN %s AND %s"
    )
    pks = list(rows)
    params = [pks, *([changed[name] for changed in rows.values()] for name in names)]
    params += [min(pks), max(pks)]
    cursor.execute(sql, params)


def _update_each(
    cursor: CursorWrapper,
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    names: tuple[str, ...],
    rows: dict[Any, dict[str, str]],
) -> None:
    quote = connection.ops.quote_name
    opts = model._meta
    assignments = ", ".join(f"{quote(column_of(model, name))} = %s" for name in names)
    sql = (
        f"UPDATE {quote(opts.db_table)} SET {assignments} "  # noqa: S608 (names quoted)
        f"WHERE {quote(column_of(model, opts.pk.name))} = %s"
    )
    params = [[changed[name] for name in names] + [pk] for pk, changed in rows.items()]
    cursor.executemany(sql, params)


def rotate_model(
    entry: EncryptedModel,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    using: str | None = None,
    on_batch: Callable[[ModelRotation], None] | None = None,
) -> ModelRotation:
    """Re-encrypt every value of one model that is not under the active key.

    The rows are locked, read and written on ``using``, by default the database the
    routers pick for writing the model.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    using = using or router.db_for_write(entry.model)
    report = ModelRotation(label=entry.label, total=_pending(entry, using).count())
    last_pk: Any = None
    while True:
        last_pk = rotate_batch(
            entry, report, after_pk=last_pk, batch_size=batch_size, dry_run=dry_run, using=using
        )
        if last_pk is None:
            break
        if on_batch is not None:
            on_batch(report)
    return report


def _pending(entry: EncryptedModel, using: str) -> models.QuerySet[Any]:
    return stale_rows(entry, key_ids=[app_settings.ACTIVE_KEY_ID], using=using).order_by("pk")


def rotate_batch(
    entry: EncryptedModel,
    report: ModelRotation,
    *,
    after_pk: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    using: str | None = None,
) -> Any:
    """Re-encrypt one batch of ``entry``'s stale rows after ``after_pk``, in one transaction;
    add it to ``report``. Returns the batch's last primary key, or None when none was left
    (the next batch starts after it: ``slack_installs.tasks.rotate_keys`` runs one per task).
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    using = using or router.db_for_write(entry.model)
    active = app_settings.ACTIVE_KEY_ID
    pending = _pending(entry, using)
    window = pending if after_pk is None else pending.filter(pk__gt=after_pk)
    with transaction.atomic(using=using):
        selected = window if dry_run else window.select_for_update()
        rows = list(selected.values_list("pk", *entry.fields)[:batch_size])
        if not rows:
            return None
        updates = {}
        for row in rows:
            changed = _reencrypt_row(entry, row, active, report, dry_run=dry_run)
            if changed:
                updates[row[0]] = changed
                report.values_reencrypted += len(changed)
        if updates and not dry_run:
            _write(entry, updates, using)
    report.done += len(rows)
    return rows[-1][0]


def rotate_keys(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    using: str | None = None,
    on_batch: Callable[[ModelRotation], None] | None = None,
) -> list[ModelRotation]:
    """Re-encrypt every encrypted value of every model under ``ACTIVE_KEY_ID``.

    With ``dry_run`` nothing is written or locked: values are only decrypted to find
    the ones that would be re-encrypted and the ones that cannot be.
    """
    return [
        rotate_model(entry, batch_size=batch_size, dry_run=dry_run, using=using, on_batch=on_batch)
        for entry in encrypted_models()
    ]


def key_usage(*, using: str | None = None) -> dict[str, dict[str, Counter[str]]]:
    """How many stored values use each key id: ``{model label: {field: Counter}}``
    (on ``using``, or where the routers send each model's reads)."""
    usage: dict[str, dict[str, Counter[str]]] = {}
    for entry in encrypted_models():
        counters: dict[str, Counter[str]] = {name: Counter() for name in entry.fields}
        rows = entry.model._base_manager.using(using).values_list(*entry.fields)
        for row in rows.iterator(chunk_size=2000):
            for name, value in zip(entry.fields, row, strict=True):
                if value is not None:
                    counters[name][_key_id(value)] += 1
        usage[entry.label] = counters
    return usage


def unconfigured_key_usage(
    *, using: str | None = None, entries: Iterable[EncryptedModel] | None = None
) -> dict[str, Counter[str]]:
    """Values under a key id missing from ``ENCRYPTION_KEYS``: ``{"label.field": Counter}``.

    The database filters out every value under a configured key, so a healthy
    table costs one scan and returns nothing.
    """
    configured = sorted(app_settings.ENCRYPTION_KEYS)
    found: dict[str, Counter[str]] = {}
    for entry in encrypted_models() if entries is None else entries:
        for name in entry.fields:
            single = EncryptedModel(entry.model, (name,))
            values = stale_rows(single, key_ids=configured, using=using).values_list(
                name, flat=True
            )
            counter = Counter(_key_id(value) for value in values.iterator(chunk_size=2000))
            if counter:
                found[f"{entry.label}.{name}"] = counter
    return found
