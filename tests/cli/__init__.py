"""Tests of the glai command."""
