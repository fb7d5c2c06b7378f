"""Exports in the admin: streamed files, for staff with the export permission.

``resources.py`` says what an export holds; this module hands it out from a
changelist (its Export button, and the "Export selected" action) without building
the file in memory, and without trusting the ids a browser posts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from import_export.admin import ExportActionMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm
from import_export.signals import post_export

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite
    from django.db.models.options import Options

# The largest primary key a 64-bit signed integer column (BigAutoField) holds.
MAX_PK = 2**63 - 1


EXPORT_FORMATS = (base_formats.CSV, base_formats.XLSX, base_formats.JSON)


def sane_pks(values: Iterable[str]) -> list[int]:
    """The values that are plain positive integers a bigint holds; anything else is dropped.

    ``"12"`` is kept; ``"abc"``, ``"1 OR 1=1"``, ``"-1"``, ``"0"``, ``"012"``, ``"10**30"``
    and ``"1" + "0" * 30`` are not.
    """
    pks = []
    for value in values:
        if value.isascii() and value.isdigit() and value[0] != "0" and len(value) <= 19:
            pk = int(value)
            if pk <= MAX_PK:
                pks.append(pk)
    return pks


class StreamingExportAdminMixin(ExportActionMixin):
    """Exports from the changelist and as an action, streamed, for staff with the export permission.

    The permission is ``<app>.<code>_<model>`` where the code is the setting
    ``IMPORT_EXPORT_EXPORT_PERMISSION_CODE`` (default ``"export"``, which the models
    declare: "Can export installations", "Can export Slack OAuth requests"). The
    "Export selected" action takes at most ``max_export_items`` rows; larger exports
    go through the Export button, which follows the changelist's filters.
    """

    export_form_class = ExportForm  # all allowlisted columns; its page needs no inline JS
    show_change_form_export = False
    max_export_items = 1000

    if TYPE_CHECKING:
        # Provided by the ModelAdmin this mixin is combined with.
        admin_site: AdminSite
        opts: Options[Any]

    # The stubs say format instances; import-export lists and instantiates classes.
    def get_export_formats(self) -> list[type[base_formats.Format]]:  # type: ignore[override]
        return [fmt for fmt in EXPORT_FORMATS if fmt.is_available()]

    def has_export_permission(self, request: HttpRequest) -> bool:
        code = getattr(settings, "IMPORT_EXPORT_EXPORT_PERMISSION_CODE", None) or "export"
        codename = get_permission_codename(code, self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def _too_many_items(self, request: HttpRequest) -> None:
        messages.error(
            request,
            _(
                "Select at most %(count)d rows to export, or export the whole list, as "
                "filtered, with the Export button."
            )
            % {"count": self.max_export_items},
        )

    def export_admin_action(self, request: HttpRequest, queryset: QuerySet) -> Any:
        """The "Export selected" action: its page lists the selected ids, so keep them few."""
        if queryset.count() > self.max_export_items:
            self._too_many_items(request)
            return None  # back to the changelist, which shows the message
        return super().export_admin_action(request, queryset)

    # The stubs say a TemplateResponse; import-export answers with the file too.
    def export_action(self, request: HttpRequest) -> HttpResponseBase:  # type: ignore[override]
        if not self.has_export_permission(request):
            raise PermissionDenied
        if len(request.POST.getlist("export_items")) > self.max_export_items:
            self._too_many_items(request)
            changelist = reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist"
            )
            filters = request.GET.urlencode()  # the changelist filters the export came with
            return HttpResponseRedirect(f"{changelist}?{filters}" if filters else changelist)
        return super().export_action(request)

    def get_valid_export_item_pks(self, request: HttpRequest) -> Any:
        # Overridden though deprecated: django-import-export 4.4.3's export_action takes the
        # choices for the posted export_items from this method alone, and its default lists
        # every pk of the table (whatever get_queryset() hides) and warns. 5.0 removes it and
        # offers the pks of get_export_queryset(), as this does, for the sane posted ids only:
        # any other posted value is not a choice, so the form shows an error.
        pks = sane_pks(request.POST.getlist("export_items"))
        return self.get_export_queryset(request).filter(pk__in=pks).values_list("pk", flat=True)

    def _do_file_export(
        self, file_format: Any, request: HttpRequest, queryset: QuerySet, export_form: Any = None
    ) -> HttpResponseBase:
        # Private, overridden because no public hook returns the response: in
        # django-import-export 4.4.3 (and its 5.0 branch) _do_file_export puts the bytes of
        # get_export_data() in an HttpResponse, so the whole file sits in memory. Every export
        # path (the Export button, the action's form, the skip-form settings) ends here.
        if not self.has_export_permission(request):
            raise PermissionDenied
        # The stubs say a resource; import-export returns the resource class.
        resource_class = self.choose_export_resource_class(export_form, request)
        resource = resource_class(**self.get_export_resource_kwargs(request))  # type: ignore[operator]
        filename = self.get_export_filename(request, queryset, file_format)
        if isinstance(file_format, base_formats.XLSX):
            # A zip archive cannot be sent before it is complete: spool it to disk instead.
            spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
            resource.write_xlsx(spool, queryset)
            spool.seek(0)
            response: HttpResponseBase = FileResponse(
                spool,
                as_attachment=True,
                filename=filename,
                content_type=file_format.get_content_type(),
            )
        else:
            stream = (
                resource.stream_json(queryset)
                if isinstance(file_format, base_formats.JSON)
                else resource.stream_csv(queryset)
            )
            response = StreamingHttpResponse(stream, content_type=file_format.get_content_type())
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        post_export.send(sender=None, model=self.model)
        return response
