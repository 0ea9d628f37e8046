"""Invoices as files: CSV for accounting import, PDF for the customer, period exports."""
