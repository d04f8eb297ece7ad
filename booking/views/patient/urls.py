from django.urls import path

from . import home

urlpatterns = [
    path("", home.patient_home, name="patient-home"),
]
