from django.urls import path

from .views.clerk import waiting_list
from .views.patient import home as patient_home

app_name = "booking"
urlpatterns = [
    path("my-scan/", patient_home.patient_home, name="patient-home"),
    path("clerk/", waiting_list.clerk_home, name="clerk-home"),
]
