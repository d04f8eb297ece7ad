from django.urls import path

from . import views

app_name = "slots"
urlpatterns = [
    path("", views.site_list, name="sites"),
    path("<str:code>/", views.site_detail, name="site"),
]
