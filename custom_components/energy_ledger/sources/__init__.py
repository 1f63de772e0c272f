"""Transports: each turns one wire format into validated frames or Readings."""
