from django.urls import include, path

app_name = "booking"
urlpatterns = [
    path("my-scan/", include("booking.views.patient.urls")),
    path("clerk/", include("booking.views.clerk.urls")),
]
