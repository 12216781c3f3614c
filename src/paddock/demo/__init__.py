"""The demo world: deterministic, seeded, sourced from the domain brief."""
