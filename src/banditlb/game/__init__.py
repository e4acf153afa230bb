"""The game's rules, pure: ids, outcomes, clocks, the retry rules and the ledger that scores.

The balancer, the fleet and the simulator all play by these modules, so a rule changed here
changes everywhere at once. Nothing here does I/O or reads the wall clock except `WallClock`.
"""
