"""Users and roles; patients sign in with their booking reference and date of birth."""
