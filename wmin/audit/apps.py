from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "wmin.audit"
    label = "audit"
    verbose_name = "Audit trail"
