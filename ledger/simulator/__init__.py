"""Provider simulators that listen on loopback, for the demo and the end-to-end tests."""
