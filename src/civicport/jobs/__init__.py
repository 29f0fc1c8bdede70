"""Background work: sync schedules, the run history, the huey queue and its worker."""
