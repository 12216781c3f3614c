"""KPIs against the year-one targets, computed in SQL. Only the interfaces import this package."""
