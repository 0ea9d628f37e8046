"""Pushed and pulled usage: record-by-record validation, storage (latest wins) and intake."""
