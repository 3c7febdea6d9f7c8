"""Forms of the tenant settings pages: issuing keys and managing members."""

from django import forms

from tenants.models import KeyKind, Role


class KeyIssueForm(forms.Form):
    kind = forms.ChoiceField(choices=KeyKind.choices, widget=forms.HiddenInput)
    label = forms.CharField(
        max_length=100,
        required=False,
        help_text="What the key is for, e.g. “billing backend” or “web app”.",
    )


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
