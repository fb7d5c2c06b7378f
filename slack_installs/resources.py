"""django-import-export resources: what an export of installations or attempts holds.

Columns are an explicit allowlist declared once, here. Exports read plain column
values with ``values_list`` (no model instances, so no token is ever decrypted and
no foreign key costs a query per row) and stream: memory stays flat however many
rows there are. Every text cell a spreadsheet could take for a formula is escaped.
In CSV every cell is quoted as well, and a formula that would start after a list
separator inside a cell (``Acme;=1+1``) is escaped too: a spreadsheet whose locale
splits cells at ``;`` may split there, quotes or not.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import re
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, cast

import tablib
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import BooleanField, Exists, ExpressionWrapper, Model, OuterRef, Q, QuerySet
from django.utils.encoding import force_str
from import_export import fields, resources, widgets

from .fields import EncryptedTextField
from .models import Installation, OAuthAttempt, UserToken

# A cell starting with one of these can run as a formula in Excel, LibreOffice or Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A trigger right after a list separator (",", ";", a tab) or a line break: a spreadsheet
# reading the CSV with that separator starts a new cell, and so a formula, there.
SPLIT_FORMULA = re.compile(r"([,;\t\r\n])(?=[=+\-@\t\r])")
ROWS_PER_CHUNK = 500


def escape_split_formulas(text: str) -> str:
    """Put ``'`` after each separator inside a CSV cell that a formula trigger follows."""
    if SPLIT_FORMULA.search(text) is None:  # nearly every cell: search() costs far less than sub()
        return text
    return SPLIT_FORMULA.sub(r"\1'", text)


def escape_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would read as a formula with ``'``."""
    if type(value) is str and value and value[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value


class EscapedTextWidget(widgets.CharWidget):
    """Renders text, escaped against formula injection (one call per cell: exports are hot)."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if value is None:
            return ""
        text = value if type(value) is str else force_str(value)
        if text and text[0] in FORMULA_TRIGGERS:
            return "'" + text
        return text


class PlainIntegerWidget(widgets.IntegerWidget):
    """Renders an integer as digits, never localised (``1234``, not ``1,234``)."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if kwargs.get("force_native_type"):
            return value
        return "" if value is None else str(value)


class IsoDateTimeWidget(widgets.DateTimeWidget):
    """Renders a datetime as ISO 8601 with its UTC offset, in every format."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return value.isoformat() if isinstance(value, datetime.datetime) else ""


# Widgets whose output is never a formula: escaped text, plain numbers, ISO dates, booleans.
# Any other widget's output is escaped after rendering.
SAFE_WIDGETS = (EscapedTextWidget, PlainIntegerWidget, IsoDateTimeWidget, widgets.BooleanWidget)


def _escaped(render: Any) -> Any:
    def render_escaped(value: Any, **kwargs: Any) -> Any:
        return escape_formula(render(value, **kwargs))

    return render_escaped


# The mixin calls the resource it is mixed into; type checkers see that resource as its base.
if TYPE_CHECKING:
    _ResourceBase = resources.ModelResource[Any]
else:
    _ResourceBase = object


class StreamingExportMixin(_ResourceBase):
    """Export rows straight from ``values_list``, as a dataset or a stream of bytes.

    Every exported field needs an ``attribute`` that ``values_list`` understands (a
    column, ``fk__column`` or an annotation added by ``prepare_export_queryset``);
    ``dehydrate_*`` methods are not used.
    """

    chunk_size = 2000

    def prepare_export_queryset(self, queryset: QuerySet) -> QuerySet:
        """Add the annotations derived columns read; override in a resource."""
        return queryset

    def _export_queryset(self, queryset: QuerySet | None) -> QuerySet:
        if queryset is None:
            queryset = self.get_queryset()
        return self.prepare_export_queryset(self.filter_export(queryset))

    def _model(self) -> type[Model]:
        # The stubs allow an "app.Model" label; import-export's metaclass resolves it to the class.
        return cast(type[Model], self._meta.model)

    def _allowlisted_attributes(self, export_fields: list[fields.Field]) -> list[str]:
        """The ``values_list`` names of ``export_fields``; raise on any that is not allowed."""
        model = self._model()
        attributes = []
        for field in export_fields:
            if not field.attribute:
                raise ImproperlyConfigured(f"export field {field.column_name!r} has no attribute")
            attributes.append(field.attribute)
            try:
                model_field = model._meta.get_field(field.attribute.split("__")[0])
            except FieldDoesNotExist:
                continue  # an annotation
            if isinstance(model_field, EncryptedTextField):
                raise ImproperlyConfigured(
                    f"{type(self).__name__} must not export the encrypted field "
                    f"{model_field.name!r}"
                )
        return attributes

    def iter_export_rows(
        self,
        queryset: QuerySet | None = None,
        export_fields: Sequence[str] | None = None,
        *,
        native: bool = False,
    ) -> Iterator[list[Any]]:
        """Yield one list of rendered, escaped cells per row.

        ``native`` keeps booleans and numbers as such (JSON, XLSX); otherwise every
        cell is text (CSV).
        """
        selected = self.get_export_fields(export_fields)
        attributes = self._allowlisted_attributes(selected)
        renders = []
        for field in selected:
            render = field.widget.render
            if not isinstance(field.widget, SAFE_WIDGETS):
                render = _escaped(render)
            renders.append(functools.partial(render, force_native_type=True) if native else render)
        rows = (
            self._export_queryset(queryset)
            .values_list(*attributes)
            .iterator(chunk_size=self.chunk_size)
        )
        for values in rows:
            yield [render(value) for render, value in zip(renders, values, strict=True)]

    def export(self, queryset: QuerySet | None = None, **kwargs: Any) -> tablib.Dataset:
        """A ``tablib.Dataset`` built from the same rows the streams use."""
        export_fields = kwargs.get("export_fields")
        # None when exporting get_queryset(), as import-export's own export() passes it.
        self.before_export(queryset, **kwargs)  # type: ignore[arg-type]
        dataset = tablib.Dataset(headers=self.get_export_headers(export_fields))
        native = bool(kwargs.get("force_native_type"))
        for row in self.iter_export_rows(queryset, export_fields, native=native):
            dataset.append(row)
        self.after_export(queryset, dataset, **kwargs)  # type: ignore[arg-type]
        return dataset

    def import_data(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is export-only")

    def stream_csv(
        self, queryset: QuerySet | None = None, export_fields: Sequence[str] | None = None
    ) -> Iterator[bytes]:
        """Yield a UTF-8 CSV file, every cell quoted, in chunks of a few hundred rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(self.get_export_headers(export_fields))
        for count, row in enumerate(self.iter_export_rows(queryset, export_fields), start=1):
            writer.writerow(
                [escape_split_formulas(cell) if type(cell) is str else cell for cell in row]
            )
            if count % ROWS_PER_CHUNK == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    def stream_json(
        self, queryset: QuerySet | None = None, export_fields: Sequence[str] | None = None
    ) -> Iterator[bytes]:
        """Yield a JSON array of objects (one per row, keyed by column) in chunks."""
        headers = self.get_export_headers(export_fields)
        parts = ["["]
        rows = self.iter_export_rows(queryset, export_fields, native=True)
        for count, row in enumerate(rows, start=1):
            parts.append(
                ("\n" if count == 1 else ",\n") + json.dumps(dict(zip(headers, row, strict=True)))
            )
            if count % ROWS_PER_CHUNK == 0:
                yield "".join(parts).encode("utf-8")
                parts = []
        parts.append("\n]\n")
        yield "".join(parts).encode("utf-8")

    def write_xlsx(
        self,
        file: IO[bytes],
        queryset: QuerySet | None = None,
        export_fields: Sequence[str] | None = None,
    ) -> None:
        """Write an XLSX workbook to ``file`` row by row (openpyxl's write-only mode)."""
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=str(self._model()._meta.verbose_name_plural)[:31])
        sheet.append(self.get_export_headers(export_fields))
        for row in self.iter_export_rows(queryset, export_fields, native=True):
            sheet.append(
                [
                    ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", cell)
                    if type(cell) is str
                    else cell
                    for cell in row
                ]
            )
        workbook.save(file)


class ExportResource(StreamingExportMixin, resources.ModelResource):
    """A model resource rendering datetimes as ISO 8601 and streaming its rows."""

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "CharField": EscapedTextWidget,
        "TextField": EscapedTextWidget,
        "DateTimeField": IsoDateTimeWidget,
        **dict.fromkeys(
            ["AutoField", "BigAutoField", "IntegerField", "BigIntegerField"], PlainIntegerWidget
        ),
    }


class InstallationResource(ExportResource):
    """Installations, without any token, secret or webhook URL."""

    app = fields.Field(
        attribute="app__slug", column_name="app", readonly=True, widget=EscapedTextWidget()
    )
    has_bot_token = fields.Field(
        attribute="has_bot_token", column_name="has_bot_token", widget=widgets.BooleanWidget()
    )
    has_user_token = fields.Field(
        attribute="has_user_token", column_name="has_user_token", widget=widgets.BooleanWidget()
    )
    token_expires_at = fields.Field(
        attribute="bot_token_expires_at", column_name="token_expires_at", widget=IsoDateTimeWidget()
    )

    class Meta:
        model = Installation
        # The allowlist: a column added to the model is exported only once it is listed here.
        fields = (
            "id",
            "app",
            "team_id",
            "team_name",
            "enterprise_id",
            "enterprise_name",
            "enterprise_url",
            "is_enterprise_install",
            "bot_user_id",
            "bot_id",
            "bot_scopes",
            "installer_user_id",
            "incoming_webhook_channel",
            "installed_at",
            "updated_at",
            "revoked_at",
            "needs_reinstall_at",
            "has_bot_token",
            "has_user_token",
            "token_expires_at",
        )
        export_order = fields
        name = "Installations (no tokens)"

    def prepare_export_queryset(self, queryset: QuerySet) -> QuerySet:
        # Both flags come from IS NULL tests in SQL: no token is read, let alone decrypted.
        live_user_tokens = UserToken.objects.filter(
            installation=OuterRef("pk"), access_token__isnull=False, revoked_at__isnull=True
        )
        return queryset.annotate(
            has_bot_token=ExpressionWrapper(
                Q(bot_token__isnull=False), output_field=BooleanField()
            ),
            has_user_token=Exists(live_user_tokens),
        )


class OAuthAttemptResource(ExportResource):
    """The OAuth attempt log, without state digests or Slack's response."""

    app = fields.Field(
        attribute="app__slug", column_name="app", readonly=True, widget=EscapedTextWidget()
    )
    installation = fields.Field(
        attribute="installation_id", column_name="installation", widget=PlainIntegerWidget()
    )
    user = fields.Field(attribute="user_id", column_name="user", widget=PlainIntegerWidget())

    class Meta:
        model = OAuthAttempt
        fields = (
            "id",
            "app",
            "status",
            "error",
            "team",
            "created_at",
            "expires_at",
            "finished_at",
            "installation",
            "user",
        )
        export_order = fields
        name = "Slack OAuth requests"
