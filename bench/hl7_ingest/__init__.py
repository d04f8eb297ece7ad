"""python -m bench.hl7_ingest: HL7 ingest over MLLP against the raw hl7.parse rate."""
