"""Customer racing: can the maker support another car?

engine/ is the pure decision engine (no database). On the database: models, context (the
database turned into the engine's `SeasonContext`), capacity_view (support pools by day from the
shared capacity core; allocations of accepted entries), and the use cases by aggregate: teams,
standard_policy, seasons, support_requests, set_decision, decisions, allocations, load,
snapshots, results. service re-exports them all; schemas, reads (engine -> schemas), api, cli
and engagements are the edges. A new use case goes in its aggregate's module and is re-exported
by service; a route in api, a command in cli.
"""
