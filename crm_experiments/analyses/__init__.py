"""Analyses: each runs on a shop and campaign params and returns a typed result."""
