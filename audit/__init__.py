"""The append-only audit trail: who did or saw what, when, and from where."""
