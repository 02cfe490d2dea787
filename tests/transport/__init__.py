"""Tests of the UDP and in-memory transports."""
