from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from accounts import throttle
from accounts.backends import REQUEST_LOCKED
from accounts.models import AuditEvent, Group, Membership, User


class AdminLoginForm(AdminAuthenticationForm):
    """The admin sign-in form, saying "locked" when the login throttle refused (not "wrong password")."""

    def get_invalid_login_error(self):
        if getattr(self.request, REQUEST_LOCKED, False):
            return ValidationError(throttle.LOCKED_MESSAGE, code="locked")
        return super().get_invalid_login_error()


admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    fieldsets = DjangoUserAdmin.fieldsets + (("IAM", {"fields": ("email_verified",)}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("path", "created")
    search_fields = ("path",)
    inlines = [MembershipInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target_type", "target_id")
    list_filter = ("action",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
