from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "role", "trust", "first_name", "last_name", "is_active"]
    list_filter = ["role", "trust", "is_active"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Role", {"fields": ("role", "trust", "patient")}))
    raw_id_fields = ["patient"]
