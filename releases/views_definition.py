"""Releases as code on the release screens: Download definition (YAML), Import definition (upload), and the JSON
Schema of the format, published at /api/schema/release-definition.json. The rules are releases.definition's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import ADD_RELEASE, require
from core.errors import DomainError
from core.forms import add_domain_error
from releases.definition import SCHEMA_PATH, definition_filename, export_definition, import_definition
from releases.forms_definition import DefinitionUploadForm
from releases.models import Release

YAML_CONTENT_TYPE = "application/yaml; charset=utf-8"
SCHEMA_CONTENT_TYPE = "application/schema+json"


@require_GET
@login_required
def release_definition(request, pk: int):
    """Download a release's definition as YAML (sensitive variables without their values)."""
    release = get_object_or_404(Release, pk=pk)
    response = HttpResponse(export_definition(release), content_type=YAML_CONTENT_TYPE)
    filename = definition_filename(release)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@require_http_methods(["GET", "POST"])
@login_required
def release_import(request):
    """Upload a definition: a new draft release, or the draft of that name updated; problems next to the file."""
    require(request.user, ADD_RELEASE)
    posted = request.method == "POST"
    form = DefinitionUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if form.is_valid():
        try:
            result = import_definition(form.cleaned_data["definition"], user=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            changes = "; ".join(result.changes)
            messages.success(request, f"{result.summary()} {changes[:1].upper()}{changes[1:]}.".removesuffix(" ."))
            return redirect("releases:release_detail", result.release.pk)
    status = 422 if form.errors else 200
    return render(request, "releases/release_import.html", {"form": form}, status=status)


@require_GET
@login_not_required  # a format's description, public like the format itself, for editors that validate YAML
def release_definition_schema(request):
    """The JSON Schema (draft 2020-12) of a release definition."""
    return HttpResponse(SCHEMA_PATH.read_bytes(), content_type=SCHEMA_CONTENT_TYPE)
