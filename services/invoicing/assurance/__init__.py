"""Revenue assurance (PRODUCT.md section 11): anomaly holds on drafts, tenant settings,
vendor bills, reconciliation of usage with what is billed and what the vendor charged, and
the margin per company."""
