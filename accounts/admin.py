from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from accounts import throttle
from accounts.admin_forms import GroupAddForm, GroupChangeForm, UserAddForm, UserChangeForm
from accounts.backends import REQUEST_LOCKED
from accounts.models import AuditEvent, Group, Membership, User
from accounts.services.users import AccountError, add_membership, set_password

# Writes go through accounts.services, never the admin's own Model.save() (no audit event,
# none of the services' rules): see accounts/admin_forms.py. What no service changes yet is
# shown read-only.


class AdminLoginForm(AdminAuthenticationForm):
    """The admin sign-in form, saying "locked" when the login throttle refused (not "wrong password")."""

    def get_invalid_login_error(self):
        if getattr(self.request, REQUEST_LOCKED, False):
            return ValidationError(throttle.LOCKED_MESSAGE, code="locked")
        return super().get_invalid_login_error()


admin.site.login_form = AdminLoginForm


class ServiceAdminMixin:
    """For admins whose forms change things through a service (``ServiceForm.for_actor``):
    the form has done the work by the time Django would save, so the admin saves nothing."""

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, **kwargs).for_actor(request.user)

    def save_model(self, request, obj, form, change):
        """Nothing to save: the form made the change through a service."""

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited on these pages."""


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    form = UserChangeForm
    add_form = UserAddForm
    add_form_template = None
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "first_name", "last_name",
                                                 "password1", "password2")}),
    )
    fieldsets = (
        (None, {"fields": ("username", "password_status")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "email_verified")}),
        ("Groups", {"fields": ("group_paths",)}),
        ("Status", {
            "fields": ("is_active", "is_staff", "is_superuser"),
            "description": "Deactivating an account stops its sign-in; it is recorded in the audit log.",
        }),
        ("Admin site permissions", {"classes": ("collapse",), "fields": ("groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    # No service changes these yet (privileges: `createsuperuser`; profile: the account itself).
    change_readonly_fields = (
        "username", "password_status", "first_name", "last_name", "email", "email_verified", "group_paths",
        "is_staff", "is_superuser", "groups", "user_permissions", "last_login", "date_joined",
    )
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly_fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        # No service deletes accounts; deactivate them instead.
        return False

    @admin.display(description="groups")
    def group_paths(self, obj):
        memberships = obj.memberships.select_related("group").order_by("group__path")
        if not memberships:
            return "none"
        return format_html_join(", ", '<a href="{}">{}</a>{}', (
            (reverse("admin:accounts_group_change", args=[m.group_id]), m.group.path,
             f" (until {m.expires_at:%Y-%m-%d})" if m.expires_at else "")
            for m in memberships
        ))

    @admin.display(description="password")
    def password_status(self, obj):
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        state = "set" if obj.has_usable_password() else "none (signs in another way)"
        return format_html('{} <a class="button" href="{}">Set password</a>', state, url)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("no such user")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                set_password(actor=request.user, user=user, password=form.cleaned_data["new_password1"])
            except AccountError as exc:
                form.add_error("new_password2", str(exc))
            else:
                self.log_change(request, user, "Set the password.")
                if user.pk == request.user.pk:
                    update_session_auth_hash(request, user)
                messages.success(request, "Password set.")
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set password: {user.get_username()}",
            "opts": self.opts,
            "original": user,
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/user/set_password.html", context)


class MembershipInline(admin.TabularInline):
    """Members are added through add_membership(); existing ones are shown read-only."""

    model = Membership
    extra = 0
    fields = ("user", "created", "expires_at")
    readonly_fields = ("created", "expires_at")
    raw_id_fields = ("user",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("path", "created")
    search_fields = ("path",)
    inlines = [MembershipInline]
    actions = None

    def get_fields(self, request, obj=None):
        return ("path",) if obj is None else ("path", "name", "parent", "description", "created")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("path", "name", "parent", "description", "created")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = GroupAddForm if obj is None else GroupChangeForm
        return super().get_form(request, obj, **kwargs).for_actor(request.user)

    def save_model(self, request, obj, form, change):
        """Nothing to save: the form made the change through accounts.services.users."""

    def save_formset(self, request, form, formset, change):
        # Only new rows can be submitted (existing members are read-only): add them through the service.
        for membership in formset.save(commit=False):
            add_membership(actor=request.user, user=membership.user, group=form.instance)

    def has_delete_permission(self, request, obj=None):
        # No service deletes groups (and a delete would drop memberships unaudited).
        return False


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here (only services write)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("at", "actor", "action", "target_type", "target_id")
    list_filter = ("action",)
