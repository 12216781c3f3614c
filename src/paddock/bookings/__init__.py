"""Guests' bookings of products: hold, confirm, check in, complete, cancel, no-show, move."""
