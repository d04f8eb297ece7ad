"""The REST API: sites, availability, referrals, offers and bookings."""
