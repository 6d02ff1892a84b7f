"""The ezhengzhao verifier service — 核验服务: an HTTP API for windows and other provinces'
platforms, with an append-only, hash-chained audit log of every use (用证留痕)."""
