"""KPI facts per day, maintained by database triggers in the writers' own transactions.

Its PostgreSQL functions are whole in sql/, one file each: to change one, edit its file and
add a migration with a frozen copy (README, Design).
"""
