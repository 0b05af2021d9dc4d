"""Pipeline: the runner (notebooks -> results -> report + tracking) and the schedule."""
