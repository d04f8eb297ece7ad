"""The booking clerk's pages: the trust's waiting list and worklist."""
