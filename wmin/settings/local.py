"""Local development and `make demo`. The demo runs production-like, with DJANGO_DEBUG=false."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
