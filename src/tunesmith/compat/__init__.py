"""Version shims around transformers / PEFT / TRL: the only place for them, each tested."""
