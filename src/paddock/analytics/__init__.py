"""KPIs against the year-one targets, computed in SQL. Only the interfaces import this package,
through its facades `service` (the headline KPIs and the report) and `series` (the breakdowns
behind the dashboard and the dealer portal); a new figure goes in the module of its use case
(listed in `service`), and its public names in a facade's `__all__`."""
