"""The capacity core: pools of units, their working time, and allocations that never overlap."""
