"""Users in the admin: deactivated, never deleted (the audit trail keeps who acted, and refuses to
lose them), and every change recorded in the trail."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.admin import AuditedAdmin
from audit.models import AuditAction
from audit.trail import record

from . import api_tokens
from .models import ApiScope, ApiToken, User


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    patient_path = "patient_id"
    list_display = ["username", "role", "trust", "first_name", "last_name", "is_active"]
    list_filter = ["role", "trust", "is_active"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Role", {"fields": ("role", "trust", "patient")}))
    raw_id_fields = ["patient"]
    actions = ["deactivate"]

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    @admin.action(description="Deactivate selected users (they can no longer sign in or use tokens)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset.filter(is_active=True))
        for user in users:
            user.is_active = False
            user.save(update_fields=["is_active"])
            record(
                AuditAction.UPDATE,
                user,
                patient_id=user.patient_id,
                summary=f"Admin deactivated {user.username}",
                detail={"channel": "admin"},
            )
        self.message_user(request, f"Deactivated {len(users)} user(s).", messages.SUCCESS)


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "trust", "expires_at"]

    def clean(self) -> dict:
        cleaned = super().clean()
        user, expires_at = cleaned.get("user"), cleaned.get("expires_at")
        if user is not None and expires_at is not None and not self.instance.pk:
            trust = cleaned.get("trust")
            try:
                api_tokens.check_token_fields(
                    user, cleaned.get("scopes") or [], trust.pk if trust else None, expires_at, timezone.now()
                )
            except ValidationError as invalid:
                for field_name, errors in invalid.message_dict.items():
                    self.add_error(field_name if field_name in self.fields else None, errors)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Issue (the key is shown once), rotate and revoke. The key is never stored or listed."""

    form = ApiTokenForm
    list_display = ["name", "user", "prefix", "scopes", "trust", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["trust", "revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["rotate", "revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return list(self.readonly_fields)
        return [*self.readonly_fields, "user", "scopes", "trust", "expires_at"]

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead: the row stays, to say which token did what

    def save_model(self, request: HttpRequest, obj: ApiToken, form: ApiTokenForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = api_tokens.issue(
            obj.user,
            name=obj.name,
            scopes=form.cleaned_data["scopes"],
            trust_id=obj.trust_id,
            expires_at=obj.expires_at,
            now=timezone.now(),
            issued_by=request.user,
        )
        obj.pk, obj.prefix, obj.digest, obj.created_at = token.pk, token.prefix, token.digest, token.created_at
        obj._state.adding = False
        request._issued_tokens = [(token, key)]  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        issued = getattr(request, "_issued_tokens", None)
        if issued:
            return TemplateResponse(request, "admin/accounts/apitoken/issued.html", {**self.admin_site.each_context(request), "issued": issued})
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Rotate: a new key for each (the old one stops working now)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> HttpResponse | None:
        now = timezone.now()
        live = [t for t in queryset.select_related("user") if t.revoked_at is None]
        if not live:
            self.message_user(request, "Revoked tokens cannot be rotated: issue a new one.", messages.WARNING)
            return None
        issued = [(token, api_tokens.rotate(token, now=now)) for token in live]
        return TemplateResponse(request, "admin/accounts/apitoken/issued.html", {**self.admin_site.each_context(request), "issued": issued})

    @admin.action(description="Revoke: stop each token working, for good")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            api_tokens.revoke(token, now=now)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)
