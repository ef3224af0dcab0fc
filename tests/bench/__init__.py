"""Tests of the benchmark harness, glai_bench."""
