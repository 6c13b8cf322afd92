"""Audit: replay, verification and tamper evidence for the escrow ledger (issue 3, part 4).

The public surface, one function per question an auditor asks:

- ``history(ledger, id, as_of)``: what happened to this aggregate, and what was its state
  at that time? (``projections.audit_history``; reads the event store only)
- ``verify(read_side, seal=...)``: do the live read tables equal a replay of the whole
  store, do the books balance, and is the log still what was hashed (and sealed)?
  (``projections.audit_verify``)
- ``seal(read_side)`` / ``verify_seal(ledger, seal)``: the head of the hash chain, to keep
  outside the system, and the proof later that the log up to it is unchanged, or the first
  position where it was changed (``projections.audit_chain``)

docs/audit.md is the procedure. Nothing here writes to the event log, and nothing repairs:
read-table drift is repaired by ``ledger projections rebuild``; a changed log is an incident.
"""

from projections.audit_chain import (
    GENESIS,
    AuditChain,
    ChainBreak,
    Seal,
    SealCheck,
    parse_seal,
    seal,
    verify_seal,
)
from projections.audit_history import Entry, History, history
from projections.audit_verify import Check, Difference, Report, verify

__all__ = [
    "GENESIS",
    "AuditChain",
    "ChainBreak",
    "Check",
    "Difference",
    "Entry",
    "History",
    "Report",
    "Seal",
    "SealCheck",
    "history",
    "parse_seal",
    "seal",
    "verify",
    "verify_seal",
]
