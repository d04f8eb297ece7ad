"""Forms for the booking pages, with errors written for the person reading them."""
