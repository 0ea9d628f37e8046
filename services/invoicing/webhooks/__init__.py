"""Webhooks per the Standard Webhooks specification: endpoints with ``whsec_`` secrets, a
fan-out consumer that turns public events from the bus into queued deliveries, and a
deliverer that sends them in order per invoice with retries, back-off and a delivery log."""
