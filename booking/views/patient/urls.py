from django.urls import path

from . import appointment, choose, home, links, offers

urlpatterns = [
    path("", home.patient_home, name="patient-home"),
    path("link/<str:token>/", links.patient_link, name="patient-link"),
    path("offers/<int:offer_id>/", offers.offer, name="patient-offer"),
    path("short-notice/", appointment.short_notice, name="patient-short-notice"),
    path("scans/<int:referral_id>/choose/", choose.choose, name="patient-choices"),
    path("scans/<int:referral_id>/choose/<int:site_id>/", choose.site_times, name="patient-site-times"),
    path("scans/<int:referral_id>/hold/", choose.hold, name="patient-hold"),
    path("scans/<int:referral_id>/confirm/", appointment.confirm, name="patient-confirm"),
    path("scans/<int:referral_id>/appointment/", appointment.appointment, name="patient-booking"),
    path("scans/<int:referral_id>/appointment.ics", appointment.calendar_file, name="patient-calendar"),
    path("scans/<int:referral_id>/cancel/", appointment.cancel, name="patient-cancel"),
    path("scans/<int:referral_id>/attendance/", appointment.confirm_attendance, name="patient-attendance"),
]
