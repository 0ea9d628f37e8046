"""The chaos run: the real stack on its own PostgreSQL and Kafka, loaded through the gateway
while a seeded fault injector kills, restarts and pauses every part of it, compared with a
fault-free tenant fed the same input (``make chaos``; a short form runs in ``make test``).

``schedule`` decides which faults come when, ``infra`` owns the private PostgreSQL and Kafka,
``faults`` injects them and times the recovery, ``load`` is the retrying client, ``compare``
reads both tenants back, ``run`` puts it together."""
