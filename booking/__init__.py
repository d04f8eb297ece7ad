"""Demand and matching: patients, referrals (the waiting list), holds, offers, bookings,
the optimiser, notifications, and the patient and clerk pages. Uses `slots`.
"""
