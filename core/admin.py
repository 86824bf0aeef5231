"""The base every Rollcall admin builds on: data fixed by hand obeys the same rules.

Add and change forms save through the app's services, so a refusal shows on the form, next to its field; deleting
is the service's soft delete; an action applies to every selected row or to none.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst

from core.errors import DomainError
from core.forms import MetadataField, MultilineTextField


class ServiceForm(forms.ModelForm):
    """A model form that saves through a service as its last validation step, so that a refusal shows on the form.

    The model's own validation is the service's job (`validate_or_refuse`, with the rule's message), so it is not
    run here. The service runs in a savepoint: a refusal writes nothing. `model_admin` and `request` are set by
    `ServiceAdmin.get_form`.
    """

    model_admin = None
    request = None

    def _post_clean(self):
        # Django's UserCreationForm hooks in here too: after the fields and clean(), where the model would validate.
        if self.errors:
            return
        try:
            with transaction.atomic():
                if self.instance.pk is None:
                    self.instance = self.model_admin.create_object(self.request, self.cleaned_data)
                else:
                    changes = {name: self.cleaned_data[name] for name in self.changed_data}
                    self.instance = self.model_admin.update_object(self.request, self.instance, changes)
        except DomainError as error:
            on_form = {field: texts for field, texts in error.errors.items() if field in self.fields}
            for field, texts in on_form.items():
                self.add_error(field, texts)
            if not on_form:
                self.add_error(None, error.message)


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose writes are service calls (`create_object`, `update_object`, actions), acting as the user.

    A POST to the list (an action) runs in one transaction: a refusal undoes the whole action and shows as an
    error message.
    """

    form = ServiceForm
    formfield_overrides = {
        models.TextField: {"form_class": MultilineTextField},
        models.JSONField: {"form_class": MetadataField},
    }

    def create_object(self, request, data: dict):
        """Create the object from the form's data through the service; return it."""
        raise NotImplementedError

    def update_object(self, request, obj, changes: dict):
        """Apply the changed fields through the service; return the changed object."""
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.model_admin, form.request = self, request
        return form

    def save_model(self, request, obj, form, change):
        """Nothing is left to save: the form saved `obj` through the service when it was validated."""

    def changelist_view(self, request, extra_context=None):
        """The list; an action posted to it is all or nothing, and its refusal is shown as an error."""
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def apply_to_all(self, request, queryset, act, *, done: str | None = None) -> list:
        """Call `act` (a service) on every object of `queryset` and return the results. When any is refused, raise
        every refusal at once, so that `changelist_view` undoes the others; otherwise say what was `done`."""
        results, refusals = [], []
        for obj in queryset:
            try:
                results.append(act(obj))
            except DomainError as error:
                refusals.append(error.message)
        if refusals:
            raise DomainError(" ".join(refusals))
        if done:
            self.message_user(request, f"{done}: {', '.join(str(result) for result in results)}.", messages.SUCCESS)
        return results


class DeletedFilter(admin.SimpleListFilter):
    """Deleted rows, rows that are not, or (by default) both."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


class SoftDeleteAdmin(ServiceAdmin):
    """An admin for a soft-deleted model: deleted rows are listed too and read-only (restore them to edit them);
    deleting, from the delete page or the bulk action, is the service's soft delete (`delete_object`)."""

    def delete_object(self, request, obj) -> None:
        """Soft-delete `obj` through the service."""
        raise NotImplementedError

    def get_queryset(self, request):
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj) -> bool:
        return obj.is_deleted

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_deleted)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_deleted)

    def get_deleted_objects(self, objs, request):
        """A soft delete takes nothing with it and is never blocked by the rows that point at it: the confirmation
        lists just the selected rows. Whether they may go is the service's decision."""
        opts = self.model._meta
        objs = list(objs)
        deleted = [f"{capfirst(opts.verbose_name)}: {obj}" for obj in objs]
        return deleted, {opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        self.delete_object(request, obj)

    def delete_queryset(self, request, queryset):
        self.apply_to_all(request, queryset, lambda obj: self.delete_object(request, obj))

    def delete_view(self, request, object_id, extra_context=None):
        """The delete page; a refusal (raised inside the admin's transaction, so nothing is written) is shown as
        an error on the object's page."""
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )
            )
