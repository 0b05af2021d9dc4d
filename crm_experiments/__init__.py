"""crm-experiments: evaluate the CRM campaigns of an online shop."""

__version__ = "0.1.0"
