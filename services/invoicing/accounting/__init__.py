"""The tenant's bookkeeping settings for accounting exports: revenue accounts per service
code, debtor accounts per company, tax codes per rate."""
