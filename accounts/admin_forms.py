"""Admin forms that write through the services, never the model.

Django's admin saves a valid form with ``Model.save()`` in ``save_model()``: no audit event,
none of the services' rules. A ``ServiceForm`` instead makes its change through a service
once its fields are clean, as the last step of validation, so that a refusal by the service
(a taken username, a redirect URI on plain http, ...) is shown on the form like any other
error, and the rules live in one place: the service. The admin's ``save_model()`` then has
nothing left to do.
"""

from __future__ import annotations

from django import forms

from accounts.models import Group, User
from accounts.services.users import AccountError, create_user, ensure_group, set_user_active


class ServiceForm(forms.ModelForm):
    # Who acts: the admin binds the signed-in user per request (see ``for_actor``).
    actor = None
    # The service's refusals (AccountError, ClientError); anything else is a bug, not a form error.
    service_errors: tuple[type[Exception], ...] = ()

    @classmethod
    def for_actor(cls, actor):
        return type(cls.__name__, (cls,), {"actor": actor})

    def apply(self, data: dict):
        """Call the service with the clean data; return the saved object (or None: unchanged)."""
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if not self.errors:
            if self.actor is None:
                raise RuntimeError("ServiceForm used without an actor")
            try:
                saved = self.apply(data)
            except self.service_errors as exc:
                raise forms.ValidationError(str(exc)) from exc
            if saved is not None:
                self.instance = saved
        return data

    def _post_clean(self):
        # ModelForm would copy the fields onto the instance and run the model's own validation
        # (DOT's Application.clean() knows nothing of our rules); the service did both.
        pass


class UserAddForm(ServiceForm):
    service_errors = (AccountError,)

    email = forms.EmailField()
    password1 = forms.CharField(
        label="Password", required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave both empty for an account that signs in another way (no password).",
    )
    password2 = forms.CharField(
        label="Password (again)", required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ("username", "email", "first_name", "last_name")

    def clean_password2(self):
        if self.cleaned_data.get("password1", "") != self.cleaned_data["password2"]:
            raise forms.ValidationError("The two passwords differ.")
        return self.cleaned_data["password2"]

    def apply(self, data):
        return create_user(
            actor=self.actor, username=data["username"], email=data["email"],
            password=data.get("password1") or None,
            given_name=data.get("first_name", ""), family_name=data.get("last_name", ""),
        )


class UserChangeForm(ServiceForm):
    """Only activation is edited here; it goes through set_user_active()."""

    service_errors = (AccountError,)

    class Meta:
        model = User
        fields = ("is_active",)

    def apply(self, data):
        if "is_active" in self.changed_data:
            set_user_active(actor=self.actor, user=self.instance, active=data["is_active"])
        return None


class GroupAddForm(ServiceForm):
    service_errors = (AccountError,)

    path = forms.CharField(
        max_length=512, help_text="Slash-separated, e.g. cms/analysis; missing parent groups are created too."
    )

    class Meta:
        model = Group
        fields = ("path",)

    def apply(self, data):
        if Group.objects.filter(path=data["path"].strip().strip("/")).exists():
            raise AccountError(f"group {data['path']!r} already exists")
        return ensure_group(actor=self.actor, path=data["path"])


class GroupChangeForm(ServiceForm):
    """Nothing of the group itself is edited here (no service renames groups yet)."""

    class Meta:
        model = Group
        fields = ()

    def apply(self, data):
        return None
