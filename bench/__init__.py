"""Benchmarks: ratios of ezhengzhao against raw primitives and peers, measured in one run."""
