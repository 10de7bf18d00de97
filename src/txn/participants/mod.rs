//! Built-in participants, one per file: `core.CheckFields`, `core.Switch`, `core.Delay`, `core.Trace`.
