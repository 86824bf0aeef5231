"""Pieces every Rollcall app shares: the domain error, soft deletion, model validation."""
