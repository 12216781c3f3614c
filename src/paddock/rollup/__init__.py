"""KPI facts per day, maintained by database triggers in the writers' own transactions."""
