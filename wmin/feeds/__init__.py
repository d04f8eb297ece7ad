"""The HL7 v2 interface with each trust's RIS: MLLP listener, ingest, handlers, and the outbox."""
