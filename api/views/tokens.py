"""The API tokens page: one's own tokens, a form to make one (shown once), and revoking one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from api.forms import ApiTokenForm
from api.selectors import tokens_of
from api.services import api_token_create, api_token_revoke
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import render_page_or_partial


@require_http_methods(["GET", "POST"])
@login_required
def token_list(request):
    """List the user's tokens; a POST makes one, and the answer shows its secret this once (201)."""
    form = ApiTokenForm(request.POST or None)
    secret, created, status = None, None, 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                created, secret = api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                form, status = ApiTokenForm(), 201
    context = {
        "tokens": tokens_of(request.user),
        "form": form,
        "secret": secret,
        "created": created,
        "now": timezone.now(),
    }
    return render(request, "api/tokens.html", context, status=status)


@require_POST
@login_required
def token_revoke(request, pk):
    """Revoke one of the user's tokens; htmx gets its row back, a plain POST goes back to the list."""
    token = get_object_or_404(tokens_of(request.user), pk=pk)
    try:
        token = api_token_revoke(token=token, user=request.user)
    except DomainError as error:  # already revoked (twice in a row): the row says so
        token.refresh_from_db()
        message, level = error.message, messages.ERROR
    else:
        message, level = f"Token {token.name} revoked: it no longer works.", messages.SUCCESS
    if request.htmx:
        return render_page_or_partial(
            request, "api/tokens.html", {"token": token, "now": timezone.now()}, partial="token_row"
        )
    messages.add_message(request, level, message)
    return redirect("api:token_list")
