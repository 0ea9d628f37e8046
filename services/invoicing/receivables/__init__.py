"""Receivables (PRODUCT.md section 12): what is open on posted documents and how it settles:
payments and their reversals, credit notes applied to invoices or refunded, overdue
documents and the aging report. Every change publishes its event with the document's
resulting status and balance."""
