"""Emulator of the Mendix for Private Cloud Build API (v4) and the Deploy API environment routes."""

__version__ = "0.1.0"
