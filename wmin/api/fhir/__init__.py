"""FHIR R4 endpoints shaped on UK Core and the NHS Booking and Referral Standard (BaRS).

Resources are built as plain dicts and validated with fhir.resources (R4B models, which match R4 for
every resource here) before they are sent; incoming Appointments are parsed with the same models.
"""
