"""Forms of the User Management page."""

from __future__ import annotations

from django import forms

from accounts.roles import Role

ROLE_CHOICES = [(role.value, role.value) for role in Role]


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)

    def role_set(self) -> set[Role]:
        return {Role(value) for value in self.cleaned_data["roles"]}


class UserCreateForm(RolesForm):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    email = forms.EmailField(required=False, max_length=254)
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text="At least 8 characters, not all digits, not a common password, not like the username.",
    )
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)

    field_order = ["username", "first_name", "last_name", "email", "password", "roles"]
