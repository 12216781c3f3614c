"""Customer racing: can the maker support another car?

Pure engine (no database): calendars, standard, demand, evaluation, selection, explain (re-exported
by solver). On the database: models, context (DB -> engine dataclasses), capacity_view (support
pools by day from the shared capacity core; allocations of accepted entries), service (use cases;
seasons and results re-exported), schemas, api, cli, engagements.
"""
