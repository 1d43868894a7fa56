"""Who is calling and what they may do."""

from app.auth.principal import Permission, Principal

__all__ = ["Permission", "Principal"]
