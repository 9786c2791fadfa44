"""KFP v2 pipeline specs: load, validate, plan (pure logic, no I/O beyond parsing)."""
