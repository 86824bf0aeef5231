"""The variables table editor on the customer, cluster and release pages: add a variable, edit one in place, delete
one. Every change goes through variables.services, which also checks the role.

An htmx request gets the fragment that changed (the table after an add or a delete, the row after an edit) with the
messages out of band; a refused form comes back with the service's message next to its field, status 422. Without
JavaScript a POST redirects back to the owner's page, and a refused form is shown on a page of its own.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import ADD_VARIABLE, CHANGE_VARIABLE, require
from clusters.models import Cluster
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import is_fragment_request, render_page_or_partial, safe_next_url
from customers.models import Customer
from releases.models import Release
from variables import services
from variables.forms import VariableForm
from variables.models import SCOPES, Variable, scope_of
from variables.selectors import variables_of

REFUSED = 422
# The page of a form without JavaScript; its partials are the htmx answers (the table, a row, a row's form).
FORM_PAGE = "variables/variable_form.html"
# The owners a variable can belong to, as their pages find them (archived customers and deleted clusters too).
OWNERS = {"customer": Customer.all_objects, "cluster": Cluster.all_objects, "release": Release.objects}


def _owner(scope: str, pk: int):
    if scope not in OWNERS:
        raise Http404("Variables belong to a customer, a cluster or a release.")
    return get_object_or_404(OWNERS[scope], pk=pk)


def _variable(pk: int, *, deleted_too: bool = False) -> Variable:
    manager = Variable.all_objects if deleted_too else Variable.objects
    return get_object_or_404(manager.select_related(*SCOPES), pk=pk)


def _named(owner) -> str:
    return f"{owner._meta.verbose_name} {owner}"


def _context(owner, **extra) -> dict:
    return {"owner": owner, "scope": scope_of(owner), **extra}


def _table(request, owner, *, add_form=None, status: int = 200):
    """The owner's variables table (with the add form as submitted, when it was refused)."""
    context = _context(owner, variables=variables_of(owner), add_form=add_form)
    return render_page_or_partial(request, FORM_PAGE, context, partial="table", status=status)


def _back(request, owner):
    return redirect(safe_next_url(request, default=owner.get_absolute_url()))


@require_http_methods(["GET", "POST"])
@login_required
def variable_create(request, scope: str, pk: int):
    """Add a variable to a customer, a cluster or a release: htmx gets the table again, a refusal the add form
    with the service's message next to the field."""
    owner = _owner(scope, pk)
    require(request.user, ADD_VARIABLE)
    form = VariableForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            variable = services.variable_create(owner=owner, user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Variable {variable.key} added to {_named(owner)}.")
            return _table(request, owner) if request.htmx else _back(request, owner)
    return _table(request, owner, add_form=form, status=REFUSED if form.is_bound else 200)


@require_GET
@login_required
def variable_detail(request, pk: int):
    """A variable's row as the table shows it (what Cancel puts back); without htmx, its owner's page."""
    variable = _variable(pk)
    if not is_fragment_request(request):
        return redirect(variable.owner.get_absolute_url())
    return render_page_or_partial(request, FORM_PAGE, _context(variable.owner, variable=variable), partial="row")


@require_http_methods(["GET", "POST"])
@login_required
def variable_edit(request, pk: int):
    """Edit a variable in place: its row becomes a form (a sensitive value's box starts empty, and left empty keeps
    the stored value); htmx gets the row back, a refusal the form with the service's message next to the field."""
    variable = _variable(pk, deleted_too=request.method == "POST")
    owner = variable.owner
    require(request.user, CHANGE_VARIABLE)
    form = VariableForm(request.POST if request.method == "POST" else None, variable=variable)
    if form.is_bound and form.is_valid():
        try:
            variable = services.variable_update(variable=variable, user=request.user, **form.changes())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Variable {variable.key} of {_named(owner)} saved.")
            if not request.htmx:
                return _back(request, owner)
            return render_page_or_partial(request, FORM_PAGE, _context(owner, variable=variable), partial="row")
    context = _context(owner, variable=variable, variable_form=form)
    status = REFUSED if form.is_bound else 200
    return render_page_or_partial(request, FORM_PAGE, context, partial="row_form", status=status)


@require_POST
@login_required
def variable_delete(request, pk: int):
    """Delete a variable (soft): htmx gets the table without it; a refusal leaves it with the reason."""
    variable = _variable(pk, deleted_too=True)
    owner = variable.owner
    try:
        services.variable_delete(variable=variable, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        status = REFUSED
    else:
        messages.success(request, f"Variable {variable.key} of {_named(owner)} deleted.")
        status = 200
    return _table(request, owner, status=status) if request.htmx else _back(request, owner)
