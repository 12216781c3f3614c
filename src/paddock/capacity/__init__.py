"""The capacity core: pools of units, their working time, and allocations that never overlap.

Its PostgreSQL functions are whole in sql/, one file each: to change one, edit its file and
add a migration with a frozen copy (README, Design).
"""
