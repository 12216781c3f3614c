"""What the experience centre sells: products, each a set of demands on the capacity pools.

Use cases in `service.py`; routes in `api.py`, mapped by `schemas.py` (`ProductRead.from_product`,
`slot_answers`), which other packages' routes reuse instead of importing this `api.py`.
"""
