from django.urls import path

from . import waiting_list

urlpatterns = [
    path("", waiting_list.clerk_home, name="clerk-home"),
]
