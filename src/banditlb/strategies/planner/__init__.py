"""The planner (our strategy): a model of each server's limits, a flow plan, and the policy.

`capacity_model.py` learns each rate limiter from what servers say, `flow_plan.py` solves the
attempt-aware flow LP with the estimates, `capacity_planner.py` chooses (and holds) attempts.
"""
