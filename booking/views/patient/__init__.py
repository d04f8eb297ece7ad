"""The patient's pages: their referral, the choice of site and date, hold, confirm, change."""
