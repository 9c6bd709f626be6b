"""The blaster's domain: its log, shots, the browser trainer's dataset, features and
learners, the firmware's loader and inference, the report, golden vectors and
synthetic sessions (docs/architecture.md has the module table)."""
