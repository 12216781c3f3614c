"""The decision engine, pure: plain dataclasses and numpy/CP-SAT, no database (a test checks
that nothing here imports SQLAlchemy or the ORM).

calendars (events, entries, calendar files), standard (the support standard, pools, policy,
value weights), demand (windows and load per pool), evaluation (one request), selection (the
set decision), explain (the plain-words reasons), solver (the public face of the three), grid
(support units by day and the choice of units for allocations) and season (`SeasonContext`,
one season year as plain data). The service builds a `SeasonContext` from the database
(`motorsport.context`) and hands it here; a new rule of the engine goes in these modules.
"""
