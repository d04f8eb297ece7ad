from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "wmin.network"
    label = "network"
    verbose_name = "Network dashboards"
