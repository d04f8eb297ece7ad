from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wmin.accounts"
    label = "accounts"
    verbose_name = "Accounts"
