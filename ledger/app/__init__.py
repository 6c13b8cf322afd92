"""The parts of the application service ``ledger.application.Ledger`` is composed of.

Infrastructure: ``store`` (opening the event store, or refusing one that holds no ledger),
``cache`` (the aggregate cache and its fast copy), ``unit_of_work`` (load, decide, save,
retry: the base every command group builds on). Commands, grouped by use case: ``users``,
``requests``, ``payments``, ``release``, ``refunds`` (decline and refund: provider-first),
``admin``, ``wallets``, ``queries``. ``result`` names what a command returns (``Result``) and
what a decision is (``Decision``); ``inputs`` checks the free text people type.
"""
