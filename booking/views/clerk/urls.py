"""The booking clerk's pages: the worklist, the waiting list, patients, and changes on their behalf."""

from django.urls import path

from . import bookings, freed_slots, letters, needs, patients, waiting_list, worklist

urlpatterns = [
    path("", worklist.clerk_home, name="clerk-home"),
    path("waiting-list/", waiting_list.waiting_list, name="clerk-waiting-list"),
    path("patients/", patients.find_patient, name="clerk-find-patient"),
    path("patients/<int:patient_id>/", patients.patient_detail, name="clerk-patient"),
    path("slots/<int:slot_id>/", freed_slots.freed_slot, name="clerk-freed-slot"),
    path("referrals/<int:referral_id>/book/", bookings.book, name="clerk-book"),
    path("referrals/<int:referral_id>/needs/", needs.relax_need, name="clerk-relax-need"),
    path("referrals/<int:referral_id>/letter/", letters.invitation_letter, name="clerk-invitation-letter"),
    path("bookings/<int:booking_id>/move/", bookings.move, name="clerk-move"),
    path("bookings/<int:booking_id>/cancel/", bookings.cancel, name="clerk-cancel"),
    path("bookings/<int:booking_id>/conflict/", bookings.resolve_conflict, name="clerk-conflict"),
]
