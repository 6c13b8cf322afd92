"""The parts of the application service ``ledger.application.Ledger`` is composed of.

Infrastructure: ``store`` (opening the event store), ``cache`` (the aggregate cache and its
fast copy), ``unit_of_work`` (load, decide, save, retry: the base every command group builds
on). Commands, grouped by use case: ``users``, ``requests``, ``payments``, ``escrow``
(release), ``refunds`` (decline and refund: provider-first), ``admin``, ``wallets``,
``queries``. ``result`` names what a command returns and what a decision is.
"""
