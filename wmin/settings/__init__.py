"""Settings split base / local / test / production; pick one with DJANGO_SETTINGS_MODULE."""
