from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.staff_sign_in, name="sign-in"),
    path("patient/sign-in/", views.patient_sign_in, name="patient-sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
]
