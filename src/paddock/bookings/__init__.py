"""Guests' bookings of products: hold, confirm, check in, complete, cancel, no-show, move.

Its PostgreSQL functions are whole in sql/, one file each: to change one, edit its file and
add a migration with a frozen copy (README, Design).
"""
